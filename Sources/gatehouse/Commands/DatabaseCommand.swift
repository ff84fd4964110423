import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService

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
            let copy = try await DatabaseCopy.run(from: from, to: to, actor: GlobalOptions.osActor) { table, rows in
                if !json { Output.note("copied \(rows) rows of \(table)") }
            }
            Output.line(json ? copy.json.prettyText : copy.summary)
            if !copy.audit.ok { throw ExitCode(2) }
        }
    }
}
