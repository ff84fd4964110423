import ArgumentParser
import GatehouseDomain
import GatehouseService

struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify", abstract: "Notification channels: list them with their latest messages, send a test message.",
        discussion: """
            Channels are configured under notifications: in gatehouse.yml (Slack incoming webhook, e-mail over SMTP, signed
            webhook). A serving Gatehouse looks for events every 10 seconds and sends each occurrence once per channel,
            retrying failures with backoff for a day.
            """,
        subcommands: [List.self, Test.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The channels configured, what each has sent, and the latest notifications.")

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("How many recent notifications to show.", valueName: "n")) var limit = 20

        func validate() throws {
            guard (0...1000).contains(limit) else { throw ValidationError("--limit must be from 0 to 1000") }
        }

        func run() async throws {
            let report = try await global.open().notificationList(limit: limit)
            global.emit(report.json, text: report.text)
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a test message through one channel now (audited); fails with the reason if it cannot be delivered.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The channel's name (notifications[].name).", valueName: "name")) var name: String

        func run() async throws {
            let report = try await global.open().testNotification(channel: name, actor: global.actor)
            global.emit(report.json, text: report.text)
        }
    }
}
