import Foundation

/// An occurrence bound for one channel: a row of the notification outbox. `(channel, key)` is
/// unique, so the same occurrence raised again — by a restart, another replica, the next
/// look at the facts — is not queued twice.
public struct NotificationDraft: Sendable, Equatable {
    public var channel: String
    public var occurrence: NotificationOccurrence

    public init(channel: String, occurrence: NotificationOccurrence) {
        self.channel = channel
        self.occurrence = occurrence
    }
}

/// A queued notification and how its delivery stands.
public struct StoredNotification: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable { case pending, sent, failed }
    public var id: Int64
    public var channel: String
    public var event: String
    public var key: String
    public var subject: String
    public var text: String
    public var details: JSONValue
    public var raisedAt: Date
    public var state: State
    public var attempts: Int64
    public var nextAttemptAt: Date
    public var lastError: String?
    public var sentAt: Date?

    public init(
        id: Int64, channel: String, event: String, key: String, subject: String, text: String, details: JSONValue, raisedAt: Date,
        state: State, attempts: Int64, nextAttemptAt: Date, lastError: String?, sentAt: Date?
    ) {
        self.id = id
        self.channel = channel
        self.event = event
        self.key = key
        self.subject = subject
        self.text = text
        self.details = details
        self.raisedAt = raisedAt
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.sentAt = sentAt
    }

    public var json: JSONValue {
        [
            "id": .int(id), "channel": .string(channel), "event": .string(event), "key": .string(key), "subject": .string(subject),
            "raised_at": .string(UTC.format(raisedAt)), "state": .string(state.rawValue), "attempts": .int(attempts),
            "next_attempt_at": state == .pending ? .string(UTC.format(nextAttemptAt)) : .null, "last_error": .optional(lastError),
            "sent_at": .optional(sentAt.map { UTC.format($0) }),
        ]
    }
}

/// How many notifications a channel has in a state.
public struct NotificationCount: Sendable, Equatable {
    public var channel: String
    public var state: StoredNotification.State
    public var count: Int64

    public init(channel: String, state: StoredNotification.State, count: Int64) {
        self.channel = channel
        self.state = state
        self.count = count
    }
}

/// What became of one delivery attempt.
public enum NotificationOutcome: Sendable, Equatable {
    case sent
    /// Failed; tried again at `next`.
    case retry(error: String, next: Date)
    /// Failed for the last time.
    case gaveUp(error: String)
}

/// When a failed notification is tried again: 30 s after the first failure, doubling up to an
/// hour between attempts, for a day from when it was raised; then it is given up (audited).
public enum NotificationBackoff {
    public static let first: TimeInterval = 30
    public static let longest: TimeInterval = 3600
    public static let giveUpAfter: TimeInterval = 86_400

    public static func outcome(ofFailure error: String, attempts: Int64, raisedAt: Date, at now: Date) -> NotificationOutcome {
        let delay = min(longest, first * pow(2, Double(max(0, min(attempts - 1, 20)))))
        let next = now.addingTimeInterval(delay)
        return next.timeIntervalSince(raisedAt) > giveUpAfter ? .gaveUp(error: error) : .retry(error: error, next: next)
    }
}

extension AuditDrafts {
    public static func notificationQueued(actor: String, _ draft: NotificationDraft) -> AuditDraft {
        AuditDraft(
            actor: actor, action: "notification.queue", subject: draft.occurrence.key,
            details: ["channel": .string(draft.channel), "event": .string(draft.occurrence.event.rawValue)])
    }

    /// A delivery attempt's outcome: `notification.sent`, `notification.retry` (with the next
    /// attempt) or `notification.failed` (given up). Errors name hosts, never URLs or secrets.
    public static func notificationOutcome(actor: String, _ n: StoredNotification, _ outcome: NotificationOutcome, attempts: Int64)
        -> AuditDraft
    {
        var details: JSONValue = ["channel": .string(n.channel), "event": .string(n.event), "attempts": .int(attempts)]
        let action: String
        switch outcome {
        case .sent:
            action = "notification.sent"
        case .retry(let error, let next):
            action = "notification.retry"
            details = details.merging(["error": .string(error), "next_attempt_at": .string(UTC.format(next))])
        case .gaveUp(let error):
            action = "notification.failed"
            details = details.merging(["error": .string(error)])
        }
        return AuditDraft(actor: actor, action: action, subject: n.key, details: details)
    }

    /// `gatehouse notify test NAME`: a message sent by hand, whatever became of it.
    public static func notificationTest(actor: String, channel: String, error: String?) -> AuditDraft {
        AuditDraft(
            actor: actor, action: "notification.test", subject: channel,
            details: ["outcome": .string(error == nil ? "sent" : "failed"), "error": .optional(error)])
    }
}
