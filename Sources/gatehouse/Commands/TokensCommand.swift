import ArgumentParser
import GatehouseDomain
import GatehouseService

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "API tokens for the Codecov instance and for administrators.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token. Its secret is printed once and stored only as a hash.")

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("A name to recognise the token by.", valueName: "name")) var name: String
        @Option(help: ArgumentHelp("authorize (decisions), admin (read and change), read, or scim (an identity provider provisioning over SCIM).", valueName: "scope")) var scope: String

        func validate() throws {
            guard TokenScope(rawValue: scope) != nil else { throw ValidationError("--scope must be authorize, admin, read or scim") }
            guard APIToken.isValidName(name) else { throw ValidationError("--name must be 1-64 characters from A-Z a-z 0-9 _ . -") }
        }

        func run() async throws {
            let created = try await global.open().createToken(name: name, scope: TokenScope(rawValue: scope)!, actor: global.actor)
            if global.json {
                Output.line(created.json.prettyText)
            } else {
                Output.note("created token \(name) (scope \(scope)); it is shown once, store it now:")
                Output.line(created.secret)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens by name and last four characters.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let tokens = try await global.open().listTokens()
            global.emit(
                .array(tokens.map(\.json)),
                text: tokens.isEmpty
                    ? "no tokens"
                    : tokens.map { "\($0.name)\t\($0.scope.rawValue)\t…\($0.lastFour)\tcreated \(UTC.format($0.createdAt)) by \($0.createdBy)" }.joined(separator: "\n"))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: it stops working at once.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The token's name.", valueName: "name")) var name: String

        func run() async throws {
            try await global.open().revokeToken(name: name, actor: global.actor)
            global.emit(["revoked": .string(name)], text: "revoked token \(name)")
        }
    }
}
