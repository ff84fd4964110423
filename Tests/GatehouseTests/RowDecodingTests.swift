import Foundation
import GRDB
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Testing

/// A row read never guesses: a misspelt column, a NULL where a value belongs, or a value the
/// code does not know is an error that names the column, not an empty string or a default.
@Suite("Row decoding")
struct RowDecodingTests {
    let row = SQLRow(
        names: ["id", "status", "count", "flag", "at", "note"],
        values: [.text("p1"), .text("active"), .int(3), .int(1), .text("2026-11-01T00:00:00Z"), .null])

    @Test func readsWhatIsThere() throws {
        #expect(try row["id"] as String == "p1")
        #expect(try row["count"] as Int64 == 3)
        #expect(try row["flag"] as Bool)
        #expect(try row["note"] as String? == nil)
        #expect(try row.value("status", as: PersonStatus.self) == .active)
        #expect(try row.time("at") == ts("2026-11-01T00:00:00Z"))
    }

    @Test func refusesWhatIsNot() {
        func message(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch let error as StoreError {
                return error.code == .corrupt ? error.message : "code \(error.code)"
            } catch { return "\(error)" }
        }
        #expect(message { _ = try row["stauts"] as String }.contains("no column stauts"))
        #expect(message { _ = try row["note"] as String }.contains("column note holds NULL"))
        #expect(message { _ = try row["id"] as Int64 }.contains("column id holds the text \"p1\""))
        #expect(message { _ = try row["count"] as Bool }.contains("column count holds the integer 3"))
        #expect(message { _ = try row.value("id", as: PersonStatus.self) }.contains("column id holds \"p1\", not a PersonStatus"))
        #expect(message { _ = try row.time("id") }.contains("not a UTC time"))
    }

    @Test func anUnknownValueInTheDatabaseIsAnErrorNamingTheColumn() async throws {
        let (dir, gatehouse, _) = try await gatehouseWithLicense()
        _ = try await gatehouse.activateSeat(user: "github:alice", actor: "t")
        try await DatabaseQueue(path: dir.file("gatehouse.db")).write {
            try $0.execute(sql: "PRAGMA ignore_check_constraints = ON; UPDATE persons SET status = 'suspended'")
        }
        let error = await #expect(throws: StoreError.self) { _ = try await gatehouse.store.persons(seat: nil, notSeenSince: nil) }
        #expect(error?.code == .corrupt)
        #expect(error.map { GatehouseError.from($0)?.code } == "database_corrupt")
        #expect(error?.message.contains("column status holds \"suspended\"") == true, "\(String(describing: error))")
    }
}
