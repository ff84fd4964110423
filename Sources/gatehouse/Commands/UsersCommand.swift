import ArgumentParser
import GatehouseDomain
import GatehouseService

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "People, their identities and their status.",
        discussion: "A USER is provider:username (e.g. github:alice), a person id (p_…) or an email.",
        subcommands: [List.self, Show.self, Link.self, Unlink.self, Block.self, Unblock.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List people.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Only people with (active) or without (none) a seat.", valueName: "active|none")) var seat: String?
        @Option(name: .customLong("inactive-days"), help: ArgumentHelp("Only people not seen for this many days.", valueName: "n")) var inactiveDays: Int64?
        @Option(help: ArgumentHelp("text, or csv for a spreadsheet (--json for JSON).", valueName: "text|csv")) var format = "text"

        func validate() throws {
            guard ["text", "csv"].contains(format) else { throw ValidationError("--format must be text or csv") }
            if let seat, SeatState(rawValue: seat) == nil { throw ValidationError("--seat must be active or none") }
            let range = Gatehouse.inactiveDaysRange
            if let inactiveDays, !range.contains(inactiveDays) { throw ValidationError("--inactive-days must be from \(range.lowerBound) to \(range.upperBound)") }
        }

        func run() async throws {
            let users = try await global.open().users(seat: seat.flatMap(SeatState.init(rawValue:)), inactiveDays: inactiveDays)
            if format == "csv", !global.json {
                print(([PersonReport.csvHeader] + users.map(\.csvRow)).joined(separator: "\r\n"), terminator: "\r\n")
                return
            }
            global.emit(.array(users.map(\.json)), text: users.isEmpty ? "no people" : users.map(\.line).joined(separator: "\n"))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one person.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The person.", valueName: "user")) var user: String

        func run() async throws {
            let report = try await global.open().user(user)
            global.emit(report.json, text: report.json.prettyText)
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Link an identity (provider:username) to a person: one person, one seat.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The person.", valueName: "user")) var user: String
        @Argument(help: ArgumentHelp("The identity to link, e.g. gitlab:alice.", valueName: "identity")) var identity: String

        func run() async throws {
            let report = try await global.open().link(user: user, identity: identity, actor: global.actor)
            global.emit(report.json, text: "linked \(identity) to \(report.person.id)\n" + report.line)
        }
    }

    struct Unlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an identity from its person.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The identity, e.g. gitlab:alice.", valueName: "identity")) var identity: String

        func run() async throws {
            try await global.open().unlink(identity: identity, actor: global.actor)
            global.emit(["unlinked": .string(identity)], text: "unlinked \(identity)")
        }
    }

    struct Block: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block a person: no login, and the seat is released.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The person.", valueName: "user")) var user: String

        func run() async throws {
            let report = try await global.open().setBlocked(user, blocked: true, actor: global.actor)
            global.emit(report.json, text: "blocked \(report.person.id)")
        }
    }

    struct Unblock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unblock a person (they get a seat again at their next login, if one is free).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The person.", valueName: "user")) var user: String

        func run() async throws {
            let report = try await global.open().setBlocked(user, blocked: false, actor: global.actor)
            global.emit(report.json, text: "unblocked \(report.person.id)")
        }
    }
}
