import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The tamper-evident audit log.", subcommands: [List.self, Verify.self, Export.self])

    /// Filters shared by `list` and `export`.
    struct Filters: ParsableArguments {
        @Option(help: ArgumentHelp("Only entries at or after this day.", valueName: "YYYY-MM-DD")) var since: String?
        @Option(help: ArgumentHelp("Only entries before this day.", valueName: "YYYY-MM-DD")) var until: String?
        @Option(help: ArgumentHelp("Only this action, or actions under it (e.g. license).", valueName: "action")) var action: String?

        func validate() throws {
            if let since { _ = try UTC.argument(since, option: "--since") }
            if let until { _ = try UTC.argument(until, option: "--until") }
        }

        func query(limit: Int? = nil) throws -> AuditQuery {
            AuditQuery(
                since: try since.map { try UTC.argument($0, option: "--since") }, until: try until.map { try UTC.argument($0, option: "--until") },
                action: action, limit: limit)
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export audit entries with their chain hashes, as JSON or CSV.",
            discussion: "A full JSON export re-verifies with docs/audit-verify.py; a filtered one with --partial (each entry's own hash).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var filters: Filters
        @Option(help: ArgumentHelp("json or csv.", valueName: "format")) var format: String
        @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file")) var out: String?

        func validate() throws {
            guard format == "json" || format == "csv" else { throw ValidationError("--format must be json or csv") }
        }

        func run() async throws {
            let entries = try await global.open().auditEntries(try filters.query())
            let text = AuditEntry.export(entries, json: format == "json")
            try Output.deliver(text, to: out, mode: 0o600, note: "wrote \(entries.count) audit entries to \(out ?? "")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audit entries, oldest first.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var filters: Filters
        @Option(help: ArgumentHelp("At most this many (the latest).", valueName: "n")) var limit: Int?

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            let entries = try await global.open().auditEntries(try filters.query(limit: limit))
            global.emit(.array(entries.map(\.json)), text: entries.isEmpty ? "no audit entries" : entries.map(\.line).joined(separator: "\n"))
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the hash chain; exit non-zero and name the first broken entry if it was altered.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let report = try await global.open().verifyAudit()
            if global.json || report.ok {
                global.emit(report.json, text: report.text)
            } else {
                Output.fail(report.text)
            }
            if !report.ok { throw ExitCode(1) }
        }
    }
}
