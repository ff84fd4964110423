import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Reports for the vendor and for auditors.", subcommands: [Compliance.self, Usage.self])

    struct Compliance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who had access, when, under which license and policy, and whether the audit chain is intact.",
            discussion: "--as-of answers for the end of a past day from the recorded history.")

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("json, csv or html.", valueName: "format")) var format: String
        @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file")) var out: String?
        @Option(name: .customLong("as-of"), help: ArgumentHelp("Report as of the end of this day (UTC).", valueName: "YYYY-MM-DD")) var asOf: String?

        func validate() throws {
            guard ["json", "csv", "html"].contains(format) else { throw ValidationError("--format must be json, csv or html") }
            if let asOf { _ = try UTC.argument(asOf, option: "--as-of") }
        }

        func run() async throws {
            let report = try await global.open().complianceReport(asOf: try asOf.map { try UTC.argument($0, option: "--as-of") })
            let text = format == "json" ? report.json.prettyText + "\n" : format == "csv" ? report.csv : report.html
            try Output.deliver(text, to: out, mode: 0o644, note: "wrote the compliance report as of \(UTC.format(report.asOf)) to \(out ?? "")")
        }
    }

    struct Usage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Peak and daily seat usage of the term, for the vendor's true-up (JSON; format in docs/usage-export.md).")

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Where to write the report.", valueName: "file")) var out: String

        func run() async throws {
            let config = try global.configuration()
            let report = try await Gatehouse.open(config).usageReport(instanceURL: config.instanceURL)
            try FileOutput.write(report.json.prettyText + "\n", to: out, overwrite: true, mode: 0o644)
            global.emit(
                ["file": .string(out), "license_id": .string(report.license.licenseID), "peak": .int(report.peak), "days": .integer(report.daily.count)],
                text: "wrote \(out): \(report.license.licenseID), peak \(report.peak) of \(report.license.seats) seats over \(report.daily.count) days")
        }
    }
}
