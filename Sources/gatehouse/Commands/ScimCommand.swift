import ArgumentParser
import GatehouseDomain
import GatehouseService

struct ScimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scim", abstract: "SCIM provisioning from Okta or Entra ID: what it has pushed, and its removal guard.",
        discussion: """
            The identity provider provisions people and groups at /scim/v2 on the API port with a token of scope scim
            (gatehouse tokens create --name okta --scope scim). SCIM users are directory people (scim:<userName>); a
            deactivation or deletion makes them leave the directory and releases their seat. At most max_removal_percent
            of them (scim: in gatehouse.yml; by default ldap's, else 10) may leave in an hour; beyond that the identity
            provider is refused until an administrator allows more.
            """,
        subcommands: [Status.self, AllowRemovals.self], defaultSubcommand: Status.self)

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Users, groups, the last change, departures in the last hour against the guard, and the scim tokens.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let status = try await global.open().scimStatus()
            global.emit(status.json, text: status.lines.joined(separator: "\n"))
        }
    }

    struct AllowRemovals: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "allow-removals",
            abstract: "Let N more SCIM people leave in the coming hour than the removal guard allows (audited).",
            discussion: "Run it after checking that the departures the guard refused are real; then retry them in the identity provider.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("How many more people may leave.", valueName: "n")) var people: Int

        func validate() throws {
            guard (1...1_000_000).contains(people) else { throw ValidationError("N must be from 1 to 1000000") }
        }

        func run() async throws {
            let gatehouse = try await global.open()
            try await gatehouse.allowScimRemovals(people, actor: global.actor)
            let status = try await gatehouse.scimStatus()
            global.emit(status.json, text: "allowed \(people) more departures for the coming hour\n" + status.lines[1])
        }
    }
}
