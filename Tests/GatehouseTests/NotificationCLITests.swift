import Foundation
import GatehouseDomain
import NIOHTTP1
import Testing

/// Notifications as an administrator meets them: configured in gatehouse.yml, tried with
/// `notify test`, sent by a serving process on its own, counted in /metrics.
extension ProcessHeavySuites {
    @Suite("Notifications from the command line and a serving process")
    struct NotificationCLITests {
        @Test("notify test and list; a serving process sends a threshold by itself; /metrics counts it")
        func commandLineAndServe() async throws {
            let receiver = try HookReceiver()
            try await receiver.start()
            let cli = try CLI()
            try cli.setUp(terms: CLITests.currentTerms(seats: 10))
            _ = try cli.dir.write("hook.secret", "a-long-shared-secret\n")
            let config = try String(contentsOfFile: cli.dir.file("gatehouse.yml"), encoding: .utf8)
            _ = try cli.dir.write(
                "gatehouse.yml",
                config + """
                    notifications:
                      - {name: siem, kind: webhook, url: "\(receiver.url)", secret_file: hook.secret, events: [seats.threshold]}

                    """)
            try FileManager.default.createDirectory(atPath: cli.dir.file("policies"), withIntermediateDirectories: true)
            _ = try cli.dir.write("policies/egress.yml", loopbackAllowedPolicy)
            try cli("policy", "apply", "policies").expectSuccess()

            let sent = try cli("notify", "test", "siem").expectSuccess()
            #expect(sent.stdout.contains("sent a test message through siem (webhook, http://127.0.0.1:\(receiver.port))"))
            #expect(receiver.deliveries.first?.json?["event"] == "test")
            try cli("notify", "test", "nope").expectCleanFailure("no notification channel is named \"nope\" (configured: siem)")
            let list = try JSONValue.parse(try cli("notify", "list", "--json").expectSuccess().stdout)
            let channel = list["channels"]?.arrayValue?.first
            #expect(channel?["name"] == "siem")
            #expect(channel?["events"] == ["seats.threshold"])

            let replica = try await Replica.start(in: cli.dir, environment: cli.environment)
            defer { replica.kill() }
            for i in 0..<9 { try cli("seats", "activate", "github:user\(i)").expectSuccess() }
            #expect(try await eventually(30) { receiver.deliveries.count == 2 }, "\(replica.output)")
            #expect(receiver.deliveries.last?.json?["event"] == "seats.threshold")
            let metrics = try await HTTPProbe.request(.GET, replica.base + "/metrics")
            #expect(metrics.body.contains(#"gatehouse_notifications{channel="siem",state="sent"} 1"#))
            let text = try cli("notify", "list").expectSuccess().stdout
            #expect(text.contains("siem\twebhook\thttp://127.0.0.1:\(receiver.port)\tsent 1, pending 0, failed 0"))
            let actions = try cli("audit", "list", "--json").expectSuccess().stdout
            #expect(actions.contains("notification.test") && actions.contains("notification.sent"))
        }
    }
}
