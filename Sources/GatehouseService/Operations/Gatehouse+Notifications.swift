import Foundation
import GatehouseDirectory
import GatehouseDomain
import GatehouseNotify
import GatehouseStorage
import Synchronization

/// What a round of delivery did (the background job logs it; tests read it).
public struct NotificationRound: Sendable {
    public var sent: [StoredNotification] = []
    public var failed: [(StoredNotification, NotificationOutcome)] = []
}

/// `notify test NAME`: what became of the test message.
public struct NotificationTestReport: Sendable {
    public var channel: String
    public var kind: String
    public var destination: String

    public var json: JSONValue {
        ["channel": .string(channel), "kind": .string(kind), "destination": .string(destination), "outcome": "sent"]
    }
    public var text: String { "sent a test message through \(channel) (\(kind), \(destination))" }
}

/// `notify list`: the channels configured and the latest notifications.
public struct NotificationListReport: Sendable {
    public var channels: [NotificationChannel]
    public var counts: [NotificationCount]
    public var recent: [StoredNotification]

    public var json: JSONValue {
        [
            "channels": .array(
                channels.map { c in
                    [
                        "name": .string(c.name), "kind": .string(c.kind.name), "destination": .string(c.destination),
                        "events": .array(c.interest.events.map(\.rawValue).sorted().map { .string($0) }),
                        "counts": .object(
                            Dictionary(
                                uniqueKeysWithValues: StoredNotification.State.allCases.map { state in
                                    (state.rawValue, JSONValue.int(counts.first { $0.channel == c.name && $0.state == state }?.count ?? 0))
                                })),
                    ]
                }),
            "recent": .array(recent.map(\.json)),
        ]
    }

    public var text: String {
        guard !channels.isEmpty else { return "no notification channels are configured (notifications: in gatehouse.yml)" }
        var lines = channels.map { c in
            let sent = counts.first { $0.channel == c.name && $0.state == .sent }?.count ?? 0
            let pending = counts.first { $0.channel == c.name && $0.state == .pending }?.count ?? 0
            let failed = counts.first { $0.channel == c.name && $0.state == .failed }?.count ?? 0
            return "\(c.name)\t\(c.kind.name)\t\(c.destination)\tsent \(sent), pending \(pending), failed \(failed)"
        }
        if !recent.isEmpty {
            lines.append("")
            lines += recent.map { n in
                "\(UTC.format(n.raisedAt))\t\(n.channel)\t\(n.event)\t\(n.state.rawValue)\(n.attempts > 0 ? " (\(n.attempts) attempt\(n.attempts == 1 ? "" : "s"))" : "")\t\(n.subject)"
                    + (n.state != .sent ? n.lastError.map { "\t\($0)" } ?? "" : "")
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension Gatehouse {
    /// How long a replica keeps a notification it is delivering before another may take it.
    static let notificationClaim: TimeInterval = 120
    /// The audit chain is verified whole for `audit.broken` at most this often.
    static let auditCheckInterval: TimeInterval = 3600

    /// Looks at seats, license, directory, audit chain and seat requests, and queues every
    /// occurrence not queued before, for every channel that wants it (audited). Cheap when
    /// nothing is new: the outbox refuses what it has seen.
    @discardableResult
    public func raiseNotifications(actor: String = "system") async throws -> [NotificationDraft] {
        guard !notificationChannels.isEmpty else { return [] }
        let facts = try await notificationFacts()
        let drafts = notificationChannels.flatMap { channel in
            NotificationRules.occurrences(facts, interest: channel.interest).map {
                NotificationDraft(channel: channel.name, occurrence: $0)
            }
        }
        return try await store.queueNotifications(drafts, actor: actor, at: now())
    }

    /// Delivers what is due, claimed row by row (two replicas never send one message), each
    /// outcome recorded and audited; a failure is tried again with backoff. Off the decision
    /// path: nothing here holds a lock decisions take.
    @discardableResult
    public func deliverNotifications(limit: Int = 20) async throws -> NotificationRound {
        let claimed = try await store.claimDueNotifications(
            holder: replicaID, until: now().addingTimeInterval(Self.notificationClaim), at: now(), limit: limit)
        let outcomes = await withTaskGroup(of: (StoredNotification, NotificationOutcome).self) { group in
            for notification in claimed {
                group.addTask {
                    do {
                        guard let channel = self.notificationChannels.first(where: { $0.name == notification.channel }) else {
                            return (notification, .gaveUp(error: "channel \(notification.channel) is no longer configured"))
                        }
                        try await self.deliver(notification, via: channel)
                        return (notification, .sent)
                    } catch {
                        let message = (error as? NotifyError)?.message ?? GatehouseError.from(error)?.message ?? "\(type(of: error))"
                        return (
                            notification,
                            NotificationBackoff.outcome(
                                ofFailure: message, attempts: notification.attempts + 1, raisedAt: notification.raisedAt, at: self.now())
                        )
                    }
                }
            }
            var all: [(StoredNotification, NotificationOutcome)] = []
            for await result in group { all.append(result) }
            return all
        }
        var round = NotificationRound()
        for (notification, outcome) in outcomes {
            try await store.recordNotificationOutcome(notification, outcome, holder: replicaID, actor: "system", at: now())
            if outcome == .sent { round.sent.append(notification) } else { round.failed.append((notification, outcome)) }
        }
        return round
    }

    /// Sends a test message through one channel now, whatever the outbox holds; audited
    /// `notification.test` with the outcome. A failure is an error naming why.
    public func testNotification(channel name: String, actor: String) async throws -> NotificationTestReport {
        guard let channel = notificationChannels.first(where: { $0.name == name }) else {
            let known = notificationChannels.map(\.name)
            throw GatehouseError(
                .unknownNotificationChannel,
                "no notification channel is named \"\(name.prefix(64))\""
                    + (known.isEmpty
                        ? " (none is configured: add notifications: to gatehouse.yml)" : " (configured: \(known.joined(separator: ", ")))"))
        }
        let t = now()
        let message = StoredNotification(
            id: 0, channel: name, event: "test", key: "test/\(UTC.format(t, milliseconds: true))", subject: "Gatehouse test message",
            text:
                "This is a test message from Gatehouse (\(instanceHost ?? "no instance_url configured")), sent by \(actor) with `gatehouse notify test \(name)`. Notifications will arrive here.",
            details: ["actor": .string(actor)], raisedAt: t, state: .pending, attempts: 0, nextAttemptAt: t, lastError: nil, sentAt: nil)
        var failure: String?
        do {
            try await deliver(message, via: channel)
        } catch {
            failure = (error as? NotifyError)?.message ?? GatehouseError.from(error)?.message ?? "\(type(of: error))"
        }
        try await store.appendAudit(AuditDrafts.notificationTest(actor: actor, channel: name, error: failure), at: now())
        if let failure { throw GatehouseError(.notificationFailed, "the test message through \(name) failed: \(failure)") }
        return NotificationTestReport(channel: name, kind: channel.kind.name, destination: channel.destination)
    }

    public func notificationList(limit: Int = 20) async throws -> NotificationListReport {
        NotificationListReport(
            channels: notificationChannels, counts: try await store.notificationCounts(),
            recent: try await store.notifications(limit: limit))
    }

    public func notificationCounts() async throws -> [NotificationCount] { try await store.notificationCounts() }

    // MARK: facts

    func notificationFacts() async throws -> NotificationFacts {
        let status = try await licenseStatus()
        let license = status.license.map { stored in
            NotificationFacts.License(
                id: stored.licenseID, licensee: stored.licensee, seats: stored.seats, expiresAt: stored.expiresAt, state: status.state,
                daysLeft: status.daysLeft, graceEndsAt: status.graceEndsAt)
        }
        var directory: NotificationFacts.Directory?
        if let settings = directorySettings, let sync = try await store.directorySyncState() {
            let t = now()
            var staleSince: Date?
            if let success = sync.lastSuccessAt {
                if t.timeIntervalSince(success) > 2 * settings.syncInterval { staleSince = success }
            } else if sync.lastError != nil {
                staleSince = sync.lastAttemptAt
            }
            var refusal: (at: Date, message: String)?
            if let at = sync.lastRefusedAt, at > (sync.lastSuccessAt ?? .distantPast) { refusal = (at, sync.lastRefusal ?? "refused") }
            directory = NotificationFacts.Directory(lastSuccessAt: sync.lastSuccessAt, staleSince: staleSince, refusal: refusal)
        }
        let wantsAudit = notificationChannels.contains { $0.interest.events.contains(.auditBroken) }
        var facts = NotificationFacts(
            license: license, activeSeats: status.seatsActive, latestSeen: try await latestSeenInEffect(), directory: directory,
            auditBroken: wantsAudit ? try await auditBreak() : nil, pendingRequests: try await store.seatRequests())
        facts.scimRefusal = try await store.scimRefusal()
        return facts
    }

    /// The chain's first broken entry, verified whole at most hourly (a long log costs a
    /// second or two to verify; a break does not mend itself meanwhile).
    func auditBreak() async throws -> (seq: Int64, problem: String)? {
        let t = now()
        if let last = auditCheck.withLock({ $0 }), t.timeIntervalSince(last.at) < Self.auditCheckInterval, t >= last.at {
            return last.broken
        }
        let report = try await verifyAudit()
        let broken = report.ok ? nil : report.firstBroken.map { (seq: $0, problem: report.problem ?? "the chain does not verify") }
        auditCheck.withLock { $0 = (t, broken) }
        return broken
    }

    // MARK: delivery

    /// One message through one channel, to an address checked against the egress rules.
    func deliver(_ n: StoredNotification, via channel: NotificationChannel) async throws {
        switch channel.kind {
        case .slack(let url):
            let (host, address) = try await checkedDestination(url: url)
            let text = "*\(Self.slackEscaped(n.subject))*\n\(Self.slackEscaped(n.text))"
            let body = JSONValue.object(["text": .string(text)]).canonicalText
            _ = try await HTTPNotifier.post(
                url: url, host: host, address: address, body: Array(body.utf8), headers: [("Content-Type", "application/json")],
                caFile: channel.caFile)
        case .webhook(let url, let secret):
            let (host, address) = try await checkedDestination(url: url)
            let body: JSONValue = [
                "id": .string(n.key), "event": .string(n.event), "subject": .string(n.subject), "text": .string(n.text),
                "details": n.details,
                "raised_at": .string(UTC.format(n.raisedAt)), "channel": .string(n.channel), "instance": .optional(instanceHost),
            ]
            let bytes = Array(body.canonicalText.utf8)
            let timestamp = Int64(now().timeIntervalSince1970)
            _ = try await HTTPNotifier.post(
                url: url, host: host, address: address, body: bytes,
                headers: [
                    ("Content-Type", "application/json"), (NotificationSignature.timestampHeader, String(timestamp)),
                    (NotificationSignature.signatureHeader, NotificationSignature.sign(body: bytes, timestamp: timestamp, secret: secret)),
                    ("X-Gatehouse-Event", n.event), ("X-Gatehouse-Delivery", n.key),
                ], caFile: channel.caFile)
        case .email(let to, let smtp):
            let address = try await checkedAddress(host: smtp.host, port: smtp.port)
            let mail = Mail(
                to: to, subject: "[Gatehouse] " + n.subject,
                text: n.text + "\n\n-- \nGatehouse (\(instanceHost ?? "Codecov Self-Hosted")), event \(n.event)\n",
                messageID: "\(sha256Hex(n.channel + "/" + n.key).prefix(32))@gatehouse", date: now(),
                headers: [("X-Gatehouse-Event", n.event)])
            try await SMTPClient.send(mail, settings: smtp, address: address)
        }
    }

    /// The host of a notification URL and the address to connect to.
    func checkedDestination(url: String) async throws -> (host: String, address: String) {
        guard case .success(let target) = EgressTarget.parse(url: url) else { throw NotifyError("the channel's URL cannot be parsed") }
        return ("\(target.host)", try await checkedAddress(target))
    }

    func checkedAddress(host: String, port: Int) async throws -> String {
        guard case .success(let target) = EgressTarget.parse(authority: host, defaultPort: port) else {
            throw NotifyError("\(host.prefix(100)) is not a host name or address")
        }
        return try await checkedAddress(EgressTarget(host: target.host, port: port))
    }

    /// Resolves once and applies the egress rules' private-address check (SPEC section 7):
    /// an internal receiver is reached only when its network is listed in `allow_cidrs`, as
    /// for the egress proxy. The address returned is the one checked.
    func checkedAddress(_ target: EgressTarget) async throws -> String {
        let policy = try await policyInEffect().egress
        let addresses: [IPAddress]
        switch target.host {
        case .ip(let address): addresses = [address]
        case .name(let name): addresses = await resolver.addresses(of: name)
        }
        if let refusal = EgressDecider.check(addresses: addresses, for: "\(target.host)", policy: policy) {
            guard refusal.reason == .resolvesToPrivateAddress else { throw NotifyError("refused by the egress rules: \(refusal.detail)") }
            let what: String
            if case .ip(let address) = target.host {
                what = "\(address) is a \(address.classification.rawValue) address"
            } else {
                what = refusal.detail
            }
            throw NotifyError("refused by the egress rules: \(what); list its network in egress.allow_cidrs to allow it")
        }
        return addresses[0].description
    }

    /// Slack's mrkdwn reads `<`, `>` and `&` as markup (links, mentions): escaped as it asks.
    static func slackEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }
}
