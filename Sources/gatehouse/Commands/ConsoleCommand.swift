import ArgumentParser
import GatehouseDomain
import GatehouseService

struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console", abstract: "The admin console in the browser (/console): sign-in links.",
        discussion: """
            The console is served at /console of the gate's public URL (the reverse proxy routes /console/ to Gatehouse, like
            /gate/). Administrators sign in through the gate's providers; before any provider is set up, an administrator
            named in login.yml signs in with a one-time link.
            """,
        subcommands: [SignInLink.self])

    struct SignInLink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign-in-link",
            abstract: "Print a one-time console sign-in link (ten minutes) for an administrator of login.yml. Audited.")

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The administrator, provider:username (listed in login.admins).", valueName: "user")) var user: String

        func run() async throws {
            let (url, expires) = try await global.open().consoleSignInLink(user: user, actor: global.actor)
            global.emit(
                ["url": .string(url), "expires_at": .string(UTC.format(expires))],
                text: "\(url)\n(one use, until \(UTC.format(expires)); open it in the browser and press Sign in)")
        }
    }
}
