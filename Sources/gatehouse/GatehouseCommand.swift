import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService

/// `gatehouse`: the administrator's CLI and the long-running service.
@main
struct GatehouseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatehouse",
        abstract: "Admin and licensing control plane for a self-hosted Codecov instance.",
        discussion: "Start with `gatehouse serve --dev` to try it; see README.md for the license workflow.",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, LicenseCommand.self, SeatsCommand.self, UsersCommand.self, PolicyCommand.self,
            TokensCommand.self, SessionsCommand.self, GateCommand.self, ExportCommand.self, AuditCommand.self, ReportCommand.self,
            LDAPCommand.self, EgressCommand.self, DatabaseCommand.self, NotifyCommand.self, ConsoleCommand.self, ScimCommand.self,
        ]
    )

    /// Runs a command and turns failures into one line on stderr and a non-zero exit.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            if let known = GatehouseError.from(error) {
                Output.fail(known.message)
                Foundation.exit(1)
            }
            // --help and --version print as usual; usage mistakes get one line and a hint.
            let code = exitCode(for: error)
            guard code != .success else { exit(withError: error) }
            let message = GatehouseCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "failed"
            Output.fail(code == .validationFailure ? message + " (see `gatehouse help`)" : message)
            Foundation.exit(code.rawValue)
        }
    }
}
