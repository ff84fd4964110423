import ArgumentParser
import GatehouseDomain
import GatehouseService

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "People signed in through the gate: list sessions, end them.",
        discussion: "A revoked session is refused by every replica within a second; the person must sign in again.",
        subcommands: [List.self, Revoke.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List live sessions, newest first (all, or one person's).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("Only this person's: provider:username, person id or email.", valueName: "user")) var user: String?

        func run() async throws {
            let sessions = try await global.open().listSessions(user: user)
            global.emit(
                .array(sessions.map(\.json)),
                text: sessions.isEmpty ? "no live sessions" : sessions.map(\.line).joined(separator: "\n"))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a session by id (from `sessions list`), every session of a person (--user), or everyone's (--all). Audited.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The session id (s_…).", valueName: "id")) var id: String?
        @Option(help: ArgumentHelp("End every session of this person instead.", valueName: "user")) var user: String?
        @Flag(help: "End every live session: everyone signs in again.") var all = false

        func validate() throws {
            guard [id != nil, user != nil, all].filter({ $0 }).count == 1 else {
                throw ValidationError("give a session id, --user USER or --all (one of them)")
            }
        }

        func run() async throws {
            let ended = try await global.open().revokeSessions(id: id, user: user, all: all, actor: global.actor)
            global.emit(
                ["revoked": .array(ended.map(\.json))],
                text: ended.isEmpty
                    ? "no live sessions to end"
                    : "ended \(ended.count) session\(ended.count == 1 ? "" : "s"): " + ended.map(\.id).joined(separator: ", "))
        }
    }
}
