import Foundation
import GRDB
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Testing

@Suite("Audit chain: any edit is detected")
struct AuditChainTests {
    let vendor = TestVendor()

    /// A database with a few audited changes.
    func seeded() async throws -> (TempDir, Gatehouse) {
        let dir = try TempDir()
        let clock = TestClock(ts("2026-11-10T00:00:00Z"))
        let gatehouse = try await vendor.gatehouse(in: dir, clock: clock)
        _ = try await gatehouse.installLicense(text: vendor.signUnchecked(TestVendor.terms()), actor: "cli:alice")
        for name in ["codecov", "ops", "reader"] {
            clock.advance(days: 1)
            _ = try await gatehouse.createToken(name: name, scope: name == "reader" ? .read : .authorize, actor: "cli:alice")
        }
        clock.advance(days: 1)
        try await gatehouse.revokeToken(name: "ops", actor: "cli:bob")
        return (dir, gatehouse)
    }

    func tamper(_ dir: TempDir, _ sql: String) throws {
        let queue = try DatabaseQueue(path: dir.file("gatehouse.db"))
        try queue.write { try $0.execute(sql: sql) }
    }

    @Test func intactChainVerifies() async throws {
        let (_, gatehouse) = try await seeded()
        let report = try await gatehouse.verifyAudit()
        #expect(report.ok)
        #expect(report.entries == 6)
        let entries = try await gatehouse.auditEntries(AuditQuery())
        #expect(entries.map(\.action) == ["schema.migrate", "license.install", "token.create", "token.create", "token.create", "token.revoke"])
        #expect(entries[0].prevHash == AuditChain.genesis)
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.hash == $1.prevHash })
        // No secret ever reaches the log.
        #expect(!entries.contains { $0.details.contains(APIToken.prefix) })
    }

    @Test(arguments: [
        ("at", "'2020-01-01T00:00:00.000Z'"), ("actor", "'cli:mallory'"), ("action", "'token.delete'"), ("subject", "'other'"),
        ("details", "'{\"scope\":\"admin\"}'"), ("prev_hash", "'" + String(repeating: "1", count: 64) + "'"),
        ("hash", "'" + String(repeating: "2", count: 64) + "'"),
    ])
    func editingAnyColumnIsDetected(column: String, value: String) async throws {
        let (dir, gatehouse) = try await seeded()
        try tamper(dir, "UPDATE audit_log SET \(column) = \(value) WHERE seq = 3")
        let report = try await gatehouse.verifyAudit()
        #expect(!report.ok)
        #expect(report.firstBroken == 3)
    }

    @Test func reformattingDetailsIsDetected() async throws {
        let (dir, gatehouse) = try await seeded()
        // Same meaning, different bytes: still an edit.
        try tamper(dir, "UPDATE audit_log SET details = replace(details, ':', ': ') WHERE seq = 4")
        #expect(try await gatehouse.verifyAudit().firstBroken == 4)
    }

    @Test func deletingAMiddleEntryIsDetected() async throws {
        let (dir, gatehouse) = try await seeded()
        try tamper(dir, "DELETE FROM audit_log WHERE seq = 2")
        let report = try await gatehouse.verifyAudit()
        #expect(report.firstBroken == 2)
        #expect(report.problem?.contains("missing") == true)
    }

    @Test func deletingTheLastEntryIsDetected() async throws {
        let (dir, gatehouse) = try await seeded()
        try tamper(dir, "DELETE FROM audit_log WHERE seq = 6")
        #expect(try await gatehouse.verifyAudit().firstBroken == 6)
    }

    @Test func reorderingEntriesIsDetected() async throws {
        let (dir, gatehouse) = try await seeded()
        try tamper(dir, "UPDATE audit_log SET seq = seq + 1000 WHERE seq IN (3, 4)")
        try tamper(dir, "UPDATE audit_log SET seq = 4 WHERE seq = 1003")
        try tamper(dir, "UPDATE audit_log SET seq = 3 WHERE seq = 1004")
        #expect(try await gatehouse.verifyAudit().firstBroken == 3)
    }

    @Test func rewritingTheWholeTailStillBreaksAtTheHead() async throws {
        let (dir, gatehouse) = try await seeded()
        // Recompute a consistent chain for edited entries 5–6, but leave the recorded head.
        let entries = try await gatehouse.auditEntries(AuditQuery())
        var prev = entries[3].hash
        for entry in entries[4...] {
            let forged = AuditChain.seal(
                AuditDraft(actor: "cli:mallory", action: entry.action, subject: entry.subject, details: (try? JSONValue.parse(entry.details)) ?? [:]),
                seq: entry.seq, at: UTC.parseTimestamp(entry.at)!, prevHash: prev)
            try tamper(dir, "UPDATE audit_log SET actor = 'cli:mallory', prev_hash = '\(forged.prevHash)', hash = '\(forged.hash)' WHERE seq = \(entry.seq)")
            prev = forged.hash
        }
        let report = try await gatehouse.verifyAudit()
        #expect(!report.ok)
        #expect(report.firstBroken == 6)
    }

    @Test func canonicalJSONMatchesPython() throws {
        let python = try requireProgram("python3", package: "python3")
        let value: JSONValue = ["b": "x/y \"q\" \\ é 😀 \u{01}\n\t", "a": [1, -2, true, nil], "c": ["z": 1, "Z": 2]]
        let script = "import json,sys; print(json.dumps(json.loads(sys.stdin.read()), sort_keys=True, separators=(',', ':'), ensure_ascii=False), end='')"
        let result = try run(python, ["-c", script], stdin: value.canonicalText)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == value.canonicalText)
    }

    /// Quoting copies the runs between escapes whole: every escape, at every position, beside
    /// combining marks and emoji, as Python writes it.
    @Test func quotedStringsMatchPython() throws {
        let python = try requireProgram("python3", package: "python3")
        var generator = SystemRandomNumberGenerator()
        let pieces = ["\"", "\\", "\n", "\r", "\t", "\u{08}", "\u{0C}", "\u{00}", "\u{1F}", "\u{7F}", "a", "é", "e\u{301}", "😀", "/", " "]
        var strings: [JSONValue] = (0..<0x20).map { .string(String(UnicodeScalar(UInt8($0)))) }
        strings += ["\"\u{301}", "\\\u{301}x", .string(JSONValue.object(["k": "v \"w\""]).canonicalText), ""]
        for _ in 0..<300 {
            strings.append(.string((0..<Int.random(in: 1...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()))
        }
        let value = JSONValue.array(strings)
        let script = "import json,sys; print(json.dumps(json.loads(sys.stdin.read()), sort_keys=True, separators=(',', ':'), ensure_ascii=False), end='')"
        let result = try run(python, ["-c", script], stdin: value.canonicalText)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == value.canonicalText)
        #expect(try JSONValue.parse(value.canonicalText) == value)
    }
}
