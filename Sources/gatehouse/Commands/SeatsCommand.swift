import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService
import GatehouseStorage

struct SeatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seats", abstract: "Seat usage and pricing.", subcommands: [Quote.self])

    struct Quote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prorated price of adding seats to the license in force.",
            discussion: "amount = added × seat price × remaining days / term days (whole UTC days), rounded half to even.")

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Number of seats to add.", valueName: "n")) var add: Int64
        @Option(help: ArgumentHelp("Day the seats are added (default: today, UTC).", valueName: "YYYY-MM-DD")) var on: String?

        func validate() throws {
            guard add >= 1 else { throw ValidationError("--add must be at least 1") }
            if let on { _ = try UTC.argument(on, option: "--on") }
        }

        func run() async throws {
            let day = try on.map { try UTC.argument($0, option: "--on") }
            let quote = try await global.open().quote(add: add, on: day)
            global.emit(quote.json, text: quote.text)
        }
    }
}
