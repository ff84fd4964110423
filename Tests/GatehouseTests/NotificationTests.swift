import Foundation
import GRDB
import GatehouseDirectory
import GatehouseDomain
import GatehouseNotify
import GatehouseStorage
import HTTPTypes
import Synchronization
import Testing

@testable import GatehouseService

/// Notifications end to end: occurrences raised from real state, queued once in the database,
/// delivered to a real HTTP receiver on loopback and a real SMTP server (aiosmtpd).
@Suite("Notifications")
struct NotificationTests {
    static let secret = "hook-secret-1"

    static func webhook(_ receiver: HookReceiver, name: String = "siem", events: Set<NotificationEvent>? = nil) -> NotificationChannel {
        NotificationChannel(
            name: name, kind: .webhook(url: receiver.url, secret: secret),
            interest: events.map { NotificationInterest(events: $0) } ?? NotificationInterest())
    }

    static func webhook(port: Int) -> NotificationChannel {
        NotificationChannel(name: "siem", kind: .webhook(url: "http://127.0.0.1:\(port)/hook", secret: secret))
    }

    static func fill(_ gatehouse: Gatehouse, _ count: Int, from first: Int = 0) async throws {
        for i in first..<(first + count) { _ = try await gatehouse.activateSeat(user: "github:user\(i)", actor: "test") }
    }

    static func actions(_ gatehouse: Gatehouse, _ prefix: String) async throws -> [String] {
        try await gatehouse.auditEntries(AuditQuery(limit: 10_000)).map(\.action).filter { $0.hasPrefix(prefix) }
    }

    @Test("Seat thresholds crossed twice send once; the message is signed and verifies with docs/verify-notification.py")
    func thresholdsOnce() async throws {
        let receiver = try HookReceiver()
        try await receiver.start()
        // The real clock: the script checks the timestamp against the time now.
        let (dir, gatehouse, _) = try await gatehouseWithLicense(
            seats: 10, policy: ["egress.yml": loopbackAllowedPolicy], clock: TestClock(Date()), notifications: [Self.webhook(receiver)])
        try await Self.fill(gatehouse, 9)
        #expect(try await gatehouse.raiseNotifications().map(\.occurrence.key) == ["seats.threshold/lic_acme_2026/90"])
        #expect(try await gatehouse.deliverNotifications().sent.count == 1)
        // Below and back above 90%: the same occurrence, not queued again.
        _ = try await gatehouse.deactivateSeat(user: "github:user0", actor: "test")
        _ = try await gatehouse.deactivateSeat(user: "github:user1", actor: "test")
        #expect(try await gatehouse.raiseNotifications().isEmpty)
        try await Self.fill(gatehouse, 2, from: 20)
        #expect(try await gatehouse.raiseNotifications().isEmpty)
        #expect(try await gatehouse.deliverNotifications().sent.isEmpty)
        try await Self.fill(gatehouse, 1, from: 30)
        #expect(try await gatehouse.raiseNotifications().map(\.occurrence.key) == ["seats.threshold/lic_acme_2026/100"])
        try await gatehouse.deliverNotifications()
        #expect(receiver.deliveries.count == 2)

        let first = receiver.deliveries[0]
        #expect(first.json?["event"] == "seats.threshold")
        #expect(first.json?["subject"] == "9 of 10 seats are in use (90%)")
        #expect(first.header("X-Gatehouse-Event") == "seats.threshold")
        let secretFile = try dir.write("hook.secret", Self.secret + "\n")
        let body = String(decoding: first.body, as: UTF8.self)
        let verify = { (body: String, secret: String) throws -> ProcessResult in
            try run(
                "/usr/bin/python3",
                [
                    repositoryRoot + "/docs/verify-notification.py", "--secret-file", secret, "--timestamp",
                    first.header("X-Gatehouse-Timestamp") ?? "",
                    "--signature", first.header("X-Gatehouse-Signature") ?? "",
                ], stdin: body)
        }
        let genuine = try verify(body, secretFile)
        #expect(genuine.status == 0, "\(genuine.stderr)")
        #expect(try verify(body.replacingOccurrences(of: "90%", with: "10%"), secretFile).status == 1)
        #expect(try verify(body, try dir.write("other.secret", "another")).status == 1)

        let queued = try await Self.actions(gatehouse, "notification.")
        #expect(queued == ["notification.queue", "notification.sent", "notification.queue", "notification.sent"])
        #expect(try await gatehouse.verifyAudit().ok)
    }

    @Test("A receiver that is down: retried with backoff, delivered when it returns; decisions go on meanwhile")
    func receiverDown() async throws {
        let receiver = try HookReceiver()
        let clock = TestClock(ts("2026-11-10T00:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(
            seats: 10, policy: ["egress.yml": loopbackAllowedPolicy], clock: clock, notifications: [Self.webhook(receiver)])
        try await Self.fill(gatehouse, 9)
        try await gatehouse.raiseNotifications()
        let round = try await gatehouse.deliverNotifications()
        #expect(round.sent.isEmpty && round.failed.count == 1)
        guard case .retry(let error, let next)? = round.failed.first?.1 else {
            Issue.record("expected a retry, got \(round.failed)")
            return
        }
        #expect(error.contains("could not be reached"))
        #expect(next == clock.now.addingTimeInterval(30))
        // Decisions are answered from memory, whatever the receiver does.
        let decision = try await gatehouse.authorizeLogin(login("github:user3"), actor: "test")
        #expect(decision.allow)

        try await receiver.start()
        // Not due yet: nothing is sent before the backoff.
        clock.set(clock.now.addingTimeInterval(10))
        #expect(try await gatehouse.deliverNotifications().sent.isEmpty)
        clock.set(clock.now.addingTimeInterval(21))
        #expect(try await gatehouse.deliverNotifications().sent.count == 1)
        #expect(receiver.deliveries.count == 1)
        #expect(try await Self.actions(gatehouse, "notification.") == ["notification.queue", "notification.retry", "notification.sent"])
        let stored = try await gatehouse.notificationList().recent
        #expect(stored.map(\.state) == [.sent] && stored.first?.attempts == 2)
    }

    @Test("A receiver that hangs holds no decision; a receiver that keeps refusing is given up after a day")
    func hangingAndGivingUp() async throws {
        let silent = try SilentListener()
        let clock = TestClock(ts("2026-11-10T00:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(
            seats: 10, policy: ["egress.yml": loopbackAllowedPolicy], clock: clock, notifications: [Self.webhook(port: silent.port)])
        try await Self.fill(gatehouse, 9)
        try await gatehouse.raiseNotifications()
        let finished = Mutex(false)
        let delivery = Task {
            defer { finished.withLock { $0 = true } }
            return try await gatehouse.deliverNotifications()
        }
        #expect(try await eventually(10) { silent.connections > 0 })
        for i in 0..<50 {
            let decision = try await gatehouse.authorizeLogin(login("github:user\(i % 9)"), actor: "test")
            #expect(decision.allow)
        }
        #expect(!finished.withLock { $0 }, "the delivery is still waiting on the receiver")
        silent.close()
        let round = try await delivery.value
        #expect(round.failed.count == 1)

        // A receiver that answers 500 every time: tried again until a day has passed.
        let refusing = try HookReceiver()
        refusing.status.withLock { $0 = .internalServerError }
        try await refusing.start()
        let (_, second, _) = try await gatehouseWithLicense(
            seats: 10, policy: ["egress.yml": loopbackAllowedPolicy], clock: clock, notifications: [Self.webhook(refusing)])
        try await Self.fill(second, 9)
        try await second.raiseNotifications()
        var gaveUp = false
        for _ in 0..<60 where !gaveUp {
            let round = try await second.deliverNotifications()
            gaveUp = round.failed.contains { if case .gaveUp = $0.1 { true } else { false } }
            clock.set(clock.now.addingTimeInterval(3600))
        }
        #expect(gaveUp)
        #expect(refusing.deliveries.count > 10)
        let list = try await second.notificationList()
        #expect(list.recent.first?.state == .failed)
        #expect(list.recent.first?.lastError?.contains("HTTP 500") == true)
        #expect(try await Self.actions(second, "notification.").last == "notification.failed")
    }

    @Test("Two replicas raising and delivering at once send one message", arguments: Engine.allCases)
    func twoReplicas(engine: Engine) async throws {
        let receiver = try HookReceiver()
        try await receiver.start()
        let channel = Self.webhook(receiver)
        let (_, first, vendor) = try await gatehouseWithLicense(
            engine: engine, seats: 10, policy: ["egress.yml": loopbackAllowedPolicy], notifications: [channel])
        let second = try anotherProcess(beside: first, trusting: vendor, notifications: [channel])
        try await Self.fill(first, 9)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for replica in [first, second, first, second, first, second] {
                group.addTask {
                    try await replica.raiseNotifications()
                    try await replica.deliverNotifications()
                }
            }
            try await group.waitForAll()
        }
        #expect(receiver.deliveries.count == 1)
        #expect(try await Self.actions(first, "notification.") == ["notification.queue", "notification.sent"])
    }

    @Test("A receiver on a private address is refused unless its network is in egress.allow_cidrs")
    func privateAddressRefused() async throws {
        let receiver = try HookReceiver()
        try await receiver.start()
        let (_, gatehouse, _) = try await gatehouseWithLicense(seats: 10, notifications: [Self.webhook(receiver)])
        await #expect(throws: GatehouseError.self) { try await gatehouse.testNotification(channel: "siem", actor: "test") }
        do {
            _ = try await gatehouse.testNotification(channel: "siem", actor: "test")
        } catch let error as GatehouseError {
            #expect(error.code == "notification_failed")
            #expect(error.message.contains("127.0.0.1 is a loopback address"))
            #expect(error.message.contains("allow_cidrs"))
        }
        #expect(receiver.deliveries.isEmpty)
        let tests = try await gatehouse.auditEntries(AuditQuery(action: "notification.test"))
        #expect(tests.count == 2 && tests.allSatisfy { $0.details.contains("failed") })
        await #expect(throws: GatehouseError.self) { try await gatehouse.testNotification(channel: "nope", actor: "test") }
    }

    @Test("Slack: the incoming webhook gets {text}, with Slack's markup characters escaped")
    func slack() async throws {
        let receiver = try HookReceiver()
        try await receiver.start()
        let slack = NotificationChannel(name: "ops-slack", kind: .slack(url: receiver.url))
        let (_, gatehouse, _) = try await gatehouseWithLicense(
            seats: 10, policy: ["egress.yml": loopbackAllowedPolicy, "seats.yml": "seats:\n  when_full: request\n"], notifications: [slack])
        try await Self.fill(gatehouse, 10)
        let refused = try await gatehouse.authorizeLogin(login("github:mallory"), actor: "test")
        #expect(!refused.allow && refused.reason == .seatRequested)
        let queued = try await gatehouse.raiseNotifications().map(\.occurrence.event)
        #expect(Set(queued) == [.seatsThreshold, .seatsRequested])
        #expect(try await gatehouse.deliverNotifications().sent.count == 2)
        let texts = receiver.deliveries.compactMap { $0.json?["text"]?.string }
        #expect(texts.count == 2)
        #expect(texts.contains { $0.hasPrefix("*github:mallory is waiting for a seat*\n") })
        // Slack reads <…> as links and mentions: anything that could carry them is escaped.
        #expect(Gatehouse.slackEscaped("<!channel> a&b") == "&lt;!channel&gt; a&amp;b")
        #expect(receiver.deliveries.allSatisfy { $0.header("Content-Type") == "application/json" })
    }

    @Test("An injected clock walks the license to its end: 60/30/14/7/1 days, grace, expired — each once")
    func expiryWithClock() async throws {
        let receiver = try HookReceiver()
        try await receiver.start()
        let clock = TestClock(ts("2027-08-01T12:00:00Z"))
        let (_, gatehouse, _) = try await gatehouseWithLicense(
            seats: 10, policy: ["egress.yml": loopbackAllowedPolicy], clock: clock, notifications: [Self.webhook(receiver)])
        var keys: [String] = []
        for _ in 0..<130 {
            keys += try await gatehouse.raiseNotifications().map(\.occurrence.key)
            clock.advance(days: 1)
        }
        #expect(
            keys == [
                "license.expiring/lic_acme_2026/60", "license.expiring/lic_acme_2026/30", "license.expiring/lic_acme_2026/14",
                "license.expiring/lic_acme_2026/7", "license.expiring/lic_acme_2026/1", "license.grace/lic_acme_2026",
                "license.expired/lic_acme_2026",
            ])
        try await gatehouse.deliverNotifications()
        #expect(receiver.deliveries.compactMap { $0.json?["event"]?.string }.count == 7)
    }

    @Test("A refused directory sync, a stale directory and an edited audit log are each told once")
    func directoryAndAudit() async throws {
        let receiver = try HookReceiver()
        try await receiver.start()
        let clock = TestClock(ts("2026-11-10T00:00:00Z"))
        // A directory that is never reached: only its recorded state matters here.
        var directory = DirectoryConfiguration(url: "ldap://127.0.0.1:\(try freeLoopbackPort())", userBase: "ou=people,dc=acme,dc=com")
        directory.syncInterval = 900
        let (dir, gatehouse, _) = try await gatehouseWithLicense(
            policy: ["egress.yml": loopbackAllowedPolicy], clock: clock, directory: directory, notifications: [Self.webhook(receiver)])
        #expect(try await gatehouse.raiseNotifications().isEmpty)
        try await gatehouse.store.recordDirectoryFailure("31 of 100 people would leave", refused: true, at: clock.now)
        try await gatehouse.store.recordDirectoryFailure("the server went away", refused: false, at: clock.now.addingTimeInterval(900))
        let keys = try await gatehouse.raiseNotifications().map(\.occurrence.key)
        #expect(keys == ["directory.stale/never", "directory.sync_refused/never"])
        try await gatehouse.store.recordDirectoryFailure(
            "31 of 100 people would leave", refused: true, at: clock.now.addingTimeInterval(1800))
        #expect(try await gatehouse.raiseNotifications().isEmpty, "the same episode: no new message")

        // Someone edits the audit log by hand; the hourly whole-chain check finds it.
        let queue = try DatabaseQueue(path: dir.file("gatehouse.db"))
        try await queue.write { try $0.execute(sql: "UPDATE audit_log SET actor = 'cli:someone-else' WHERE seq = 2") }
        clock.set(clock.now.addingTimeInterval(3601))
        let broken = try await gatehouse.raiseNotifications()
        #expect(broken.map(\.occurrence.key) == ["audit.broken/2"])
        #expect(broken.first?.occurrence.subject == "The audit log's chain is broken at entry 2")
        try await gatehouse.deliverNotifications()
        #expect(
            Set(receiver.deliveries.compactMap { $0.json?["event"]?.string }) == [
                "directory.stale", "directory.sync_refused", "audit.broken",
            ])
    }

    @Test("E-mail through a real SMTP server: STARTTLS, AUTH, the message as sent; failures say why without the password")
    func email() async throws {
        let dir = try TempDir()
        let sink = try await SMTPSink(in: dir)
        var smtp = SMTPSettings(
            host: "localhost", port: sink.port, security: .starttls, username: SMTPSink.user, password: SMTPSink.password,
            from: "gatehouse@acme.test", caFile: sink.tls.caFile)
        let channel = NotificationChannel(name: "billing", kind: .email(to: ["billing@acme.test", "cfo@acme.test"], smtp: smtp))
        let (_, gatehouse, _) = try await gatehouseWithLicense(
            seats: 10, policy: ["egress.yml": loopbackAllowedPolicy], notifications: [channel])
        let report = try await gatehouse.testNotification(channel: "billing", actor: "cli:alice")
        #expect(report.kind == "email")
        try await Self.fill(gatehouse, 9)
        try await gatehouse.raiseNotifications()
        #expect(try await gatehouse.deliverNotifications().sent.count == 1)
        let messages = sink.messages
        #expect(messages.count == 2)
        #expect(messages.allSatisfy { $0["tls"] == true && $0["authenticated"] == true && $0["login"] == "gatehouse" })
        #expect(messages[0]["subject"] == "[Gatehouse] Gatehouse test message")
        #expect(messages[0]["rcpt_tos"] == ["billing@acme.test", "cfo@acme.test"])
        #expect(messages[0]["mail_from"] == "gatehouse@acme.test")
        #expect(messages[0]["text"]?.string.contains("sent by cli:alice") == true)
        #expect(messages[1]["subject"] == "[Gatehouse] 9 of 10 seats are in use (90%)")
        #expect(messages[1]["headers"]?["X-Gatehouse-Event"] == "seats.threshold")

        // A wrong password: refused, with the reason and without the password.
        smtp.password = "wrong-password"
        let wrong = try await gatehouseWithLicense(
            seats: 10, policy: ["egress.yml": loopbackAllowedPolicy],
            notifications: [NotificationChannel(name: "billing", kind: .email(to: ["billing@acme.test"], smtp: smtp))]
        ).1
        let failure = await #expect(throws: GatehouseError.self) { try await wrong.testNotification(channel: "billing", actor: "test") }
        #expect(failure?.message.contains("refused the login") == true)
        #expect(failure?.message.contains("wrong-password") == false)
        // The server's certificate is checked against a CA we trust.
        smtp.password = SMTPSink.password
        smtp.caFile = nil
        let untrusted = try await gatehouseWithLicense(
            seats: 10, policy: ["egress.yml": loopbackAllowedPolicy],
            notifications: [NotificationChannel(name: "billing", kind: .email(to: ["billing@acme.test"], smtp: smtp))]
        ).1
        let tlsFailure = await #expect(throws: GatehouseError.self) {
            try await untrusted.testNotification(channel: "billing", actor: "test")
        }
        #expect(tlsFailure?.message.contains("TLS") == true, "\(tlsFailure?.message ?? "")")
        // A server without STARTTLS, when it is required: nothing is sent in the clear.
        let plain = try await SMTPSink(in: dir, starttls: false)
        smtp.port = plain.port
        let cleartext = try await gatehouseWithLicense(
            seats: 10, policy: ["egress.yml": loopbackAllowedPolicy],
            notifications: [NotificationChannel(name: "billing", kind: .email(to: ["billing@acme.test"], smtp: smtp))]
        ).1
        let refused = await #expect(throws: GatehouseError.self) { try await cleartext.testNotification(channel: "billing", actor: "test") }
        #expect(refused?.message.contains("does not offer STARTTLS") == true)
        #expect(plain.messages.isEmpty && sink.messages.count == 2)
    }

    @Test("gatehouse.yml: the channels of SPEC section 12 load; mistakes are reported with their line")
    func configuration() throws {
        let dir = try TempDir()
        _ = try dir.write("slack-webhook.url", "https://hooks.slack.com/services/T000/B000/XXXX\n")
        _ = try dir.write("smtp.pw", "pw\n")
        _ = try dir.write("hook.secret", "s3cret\n")
        let good = try dir.write(
            "gatehouse.yml",
            """
            notifications:
              - {name: ops-slack, kind: slack, url_file: slack-webhook.url, events: [seats.threshold, license.expiring], expiring_days: [30, 7]}
              - {name: billing, kind: email, to: [billing@acme.com], smtp: {host: smtp.acme.internal, port: 587, starttls: true,
                 username: gatehouse, password_file: smtp.pw, from: gatehouse@acme.com}}
              - {name: siem, kind: webhook, url: https://siem.acme.internal/hook, secret_file: hook.secret, seat_thresholds: [80]}
            """)
        let config = try GatehouseConfiguration.load(path: good, environment: [:])
        #expect(config.notifications.map(\.name) == ["ops-slack", "billing", "siem"])
        #expect(config.notifications[0].interest.events == [.seatsThreshold, .licenseExpiring])
        #expect(config.notifications[0].interest.expiringDays == [7, 30])
        #expect(config.notifications[0].destination == "https://hooks.slack.com")
        guard case .email(let to, let smtp) = config.notifications[1].kind else {
            Issue.record("expected e-mail")
            return
        }
        #expect(to == ["billing@acme.com"] && smtp.security == .starttls && smtp.password == "pw" && smtp.port == 587)
        #expect(config.notifications[2].interest.seatThresholds == [80])

        let bad = try dir.write(
            "bad.yml",
            """
            notifications:
              - {name: ops, kind: slack, url: https://hooks.slack.com/services/T/B/X}
              - {name: mail, kind: email, to: ["a@b.c\\r\\nBcc: x@y.z"], smtp: {host: smtp, from: g@acme.com}}
              - {name: siem, kind: webhook, url: https://siem/hook, secret_file: missing.secret, events: [seats.everything]}
              - {name: plain, kind: email, to: [a@b.c], smtp: {host: smtp, from: g@acme.com, starttls: false, username: u, password_file: smtp.pw}}
            """)
        #expect {
            try GatehouseConfiguration.load(path: bad, environment: [:])
        } throws: { error in
            let message = (error as? GatehouseError)?.message ?? ""
            return message.contains("line 2") && message.contains("url_file") && message.contains("not e-mail addresses")
                && message.contains("cannot read") && message.contains("unknown event") && message.contains("never sent unencrypted")
        }
    }
}
