import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService
import GatehouseStorage

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Reports for the vendor and for auditors.", subcommands: [Usage.self])

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
