import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService

struct SeatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seats", abstract: "Seat usage and pricing.",
        discussion: "A USER is provider:username (e.g. github:alice), a person id (p_…) or an email.",
        subcommands: [Status.self, Activate.self, Deactivate.self, Release.self, Requests.self, Quote.self, TrueUp.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Licensed, active, available and peak seats, with warnings.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let report = try await global.open().seatStatus()
            global.emit(report.json, text: report.text)
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a user a seat (a provider:username not seen before becomes a new person).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The person.", valueName: "user")) var user: String

        func run() async throws {
            let report = try await global.open().activateSeat(user: user, actor: global.actor)
            global.emit(report.json, text: "seat active for \(report.person.id) (\(report.identities.map(\.ref.description).joined(separator: ", ")))")
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a user's seat.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The person.", valueName: "user")) var user: String

        func run() async throws {
            let report = try await global.open().deactivateSeat(user: user, actor: global.actor)
            global.emit(report.json, text: "no seat for \(report.person.id)")
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give back the seats of people not seen for a number of days, in one go.",
            discussion: """
                Everyone holding a seat and not seen for --inactive-days (never seen counts from when the person was created) \
                loses the seat and is signed out, in one transaction, audited per seat and as one seats.release_inactive entry. \
                They get a seat again at their next login if one is free. Review first with --dry-run, or with \
                `gatehouse users list --seat active --inactive-days N --format csv`.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: .customLong("inactive-days"), help: ArgumentHelp("Days without being seen.", valueName: "n")) var inactiveDays: Int64
        @Flag(name: .customLong("dry-run"), help: "Say whose seats would be released; change nothing.") var dryRun = false

        func validate() throws {
            let range = Gatehouse.inactiveDaysRange
            if !range.contains(inactiveDays) { throw ValidationError("--inactive-days must be from \(range.lowerBound) to \(range.upperBound)") }
        }

        func run() async throws {
            let report = try await global.open().releaseInactiveSeats(days: inactiveDays, dryRun: dryRun, actor: global.actor)
            global.emit(report.json, text: report.text)
        }
    }

    struct Requests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seat requests filed while every seat was taken (seats.when_full: request).",
            discussion: """
                With when_full: request in seats.yml, a login or private upload that finds no free seat is refused with \
                seat_requested and files one request per person. Pending requests are granted oldest first as seats free up \
                (auto_grant, the default) or here by hand. Every step is audited.
                """,
            subcommands: [List.self, Approve.self, Reject.self], defaultSubcommand: List.self)

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Pending requests, oldest first.")
            @OptionGroup var global: GlobalOptions

            func run() async throws {
                let requests = try await global.open().seatRequests()
                global.emit(
                    .array(requests.map(\.json)),
                    text: requests.isEmpty ? "no pending seat requests" : requests.map(\.line).joined(separator: "\n"))
            }
        }

        struct Approve: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Give the person who asked a seat now (one must be free).")
            @OptionGroup var global: GlobalOptions
            @Argument(help: ArgumentHelp("The person.", valueName: "user")) var user: String

            func run() async throws {
                let report = try await global.open().approveSeatRequest(user: user, actor: global.actor)
                global.emit(report.json, text: "seat given to \(report.person.id) (\(report.identities.map(\.ref.description).joined(separator: ", ")))")
            }
        }

        struct Reject: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Turn a request down (the person may ask again at a later login).")
            @OptionGroup var global: GlobalOptions
            @Argument(help: ArgumentHelp("The person.", valueName: "user")) var user: String

            func run() async throws {
                try await global.open().rejectSeatRequest(user: user, actor: global.actor)
                global.emit(["rejected": .string(user)], text: "request of \(user) rejected")
            }
        }
    }

    struct TrueUp: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "true-up", abstract: "This term's peak seat use against the seats licensed.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let report = try await global.open().trueUp()
            global.emit(report.json, text: report.text)
        }
    }

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
