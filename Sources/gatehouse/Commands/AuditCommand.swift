import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService
import GatehouseStorage

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "The tamper-evident audit log.", subcommands: [List.self, Verify.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audit entries, oldest first.")

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Only entries at or after this day.", valueName: "YYYY-MM-DD")) var since: String?
        @Option(help: ArgumentHelp("Only entries before this day.", valueName: "YYYY-MM-DD")) var until: String?
        @Option(help: ArgumentHelp("Only this action, or actions under it (e.g. license).", valueName: "action")) var action: String?
        @Option(help: ArgumentHelp("At most this many (the latest).", valueName: "n")) var limit: Int?

        func validate() throws {
            if let since { _ = try UTC.argument(since, option: "--since") }
            if let until { _ = try UTC.argument(until, option: "--until") }
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            let query = AuditQuery(
                since: try since.map { try UTC.argument($0, option: "--since") }, until: try until.map { try UTC.argument($0, option: "--until") },
                action: action, limit: limit)
            let entries = try await global.open().auditEntries(query)
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
