import ArgumentParser
import GatehouseDomain
import GatehouseService

struct GateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate", abstract: "The gate in front of Codecov: check a deployment.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check the gate's deployment: callback URLs, cookies over http/https, redirect loops, trusted proxies, route policy, each sign-in provider.",
            discussion:
                "Exits non-zero when a problem is found. With --codecov-config, also checks Codecov's own codecov.yml agrees (its URL, its login restriction)."
        )

        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("codecov-config"), help: ArgumentHelp("Codecov's codecov.yml, to check it agrees.", valueName: "file"))
        var codecovConfig: String?

        func run() async throws {
            let findings = try await global.open().gateCheck(codecovConfig: codecovConfig)
            let problems = findings.filter { $0.level == .problem }.count
            global.emit(
                ["ok": .bool(problems == 0), "findings": .array(findings.map(\.json))],
                text: findings.map(\.line).joined(separator: "\n")
                    + "\n\(problems == 0 ? "no problems found" : "\(problems) problem\(problems == 1 ? "" : "s") found")")
            if problems > 0 { throw ExitCode(1) }
        }
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Configuration for other systems, derived from Gatehouse's.", subcommands: [CodecovConfig.self])

    struct CodecovConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "codecov-config",
            abstract: "The setup.admins and <service>.organizations/teams fragment of Codecov's codecov.yml that agrees with login.yml.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let export = try await global.open().codecovConfig()
            global.emit(export.json, text: export.yaml)
        }
    }
}
