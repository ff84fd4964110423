import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService
import GatehouseStorage

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Move Gatehouse's data between databases.", subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy every row into an empty database (e.g. SQLite to PostgreSQL) and verify the audit chain.",
            discussion: """
                Stop every `gatehouse serve` first. The target must be empty (no schema): the copy creates the schema, \
                writes every row in one transaction (a failure leaves the target empty), appends a database.copy entry \
                to the audit chain and verifies the whole chain. The source is only read.
                """)

        @Option(help: ArgumentHelp("The database to copy: sqlite:PATH or postgres://…", valueName: "url")) var from: String
        @Option(help: ArgumentHelp("An empty database: sqlite:PATH (a new file) or postgres://…", valueName: "url")) var to: String
        @Flag(help: "Print machine-readable JSON on stdout.") var json = false

        func run() async throws {
            let source = try DatabaseLocation(from).open(create: false)
            if case .sqlite(let path) = try DatabaseLocation(to), FileManager.default.fileExists(atPath: path) {
                throw GatehouseError(
                    .conflict, "target_exists", "\(path) exists: db copy writes a new database (remove it, or name another file)")
            }
            let target = try DatabaseLocation(to).open(create: true)
            guard let sourceStore = source as? SQLStore, let targetStore = target as? SQLStore else {
                throw GatehouseError(.badRequest, "unsupported_database", "db copy works between SQLite and PostgreSQL stores")
            }
            let report: DatabaseCopyReport
            do {
                report = try await sourceStore.copy(to: targetStore, actor: GlobalOptions.osActor, at: Date()) { table, rows in
                    if !json { Output.note("copied \(rows) rows of \(table)") }
                }
            } catch { throw GatehouseError.from(error) ?? error }
            let total = report.rows.reduce(0) { $0 + $1.count }
            let value: JSONValue = [
                "from": .string(source.location), "to": .string(target.location), "rows": .int(Int64(total)),
                "tables": .object(Dictionary(uniqueKeysWithValues: report.rows.map { ($0.table, JSONValue.int(Int64($0.count))) })),
                "audit_entries": .int(Int64(report.audit.entries)), "audit_ok": .bool(report.audit.ok),
            ]
            if json {
                Output.line(value.prettyText)
            } else {
                Output.line(
                    "copied \(total) rows from \(source.location) to \(target.location); audit chain verified: \(report.audit.entries) entries"
                        + (report.audit.ok ? ", intact" : " — BROKEN: \(report.audit.problem ?? "")"))
            }
            if !report.audit.ok { throw ExitCode(2) }
        }
    }
}
