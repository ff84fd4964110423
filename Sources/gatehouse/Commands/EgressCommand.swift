import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService

struct EgressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress", abstract: "Outbound connections: may this URL be reached under the egress policy?",
        subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Judge a URL as the egress proxy would: rules, then every address the name resolves to.",
            discussion: "Exits 0 when allowed, 1 when refused (the reason is printed). Uses the policy set in force (`gatehouse policy apply`).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The URL, e.g. https://hooks.slack.com/services/…", valueName: "url")) var url: String
        @Option(help: ArgumentHelp("Judge with this role's rules (egress.roles) instead of the top-level ones.", valueName: "name"))
        var role: String?

        func run() async throws {
            let check = try await global.open().checkEgress(url: url, role: role)
            var text = check.allow ? "allowed" : "refused: \(check.verdict.reason.rawValue)"
            if let rule = check.verdict.rule { text += " (rule \(rule))" }
            if let role = check.role { text += " [role \(role)]" }
            if check.allow, !check.verdict.allow { text += " — \(check.mode.rawValue) mode; enforce would refuse: \(check.verdict.reason.rawValue)" }
            if !check.verdict.detail.isEmpty { text += "\n\(check.verdict.detail)" }
            if !check.addresses.isEmpty { text += "\naddresses: " + check.addresses.map(\.description).joined(separator: ", ") }
            global.emit(check.json, text: text)
            if !check.allow { throw ExitCode(1) }
        }
    }
}
