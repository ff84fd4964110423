import Foundation

/// What administrators are told about (SPEC section 12).
public enum NotificationEvent: String, Sendable, CaseIterable, Hashable {
    case seatsThreshold = "seats.threshold"
    case seatsRequested = "seats.requested"
    case licenseExpiring = "license.expiring"
    case licenseGrace = "license.grace"
    case licenseExpired = "license.expired"
    case licenseClockTampered = "license.clock_tampered"
    case directoryStale = "directory.stale"
    case directorySyncRefused = "directory.sync_refused"
    case auditBroken = "audit.broken"
}

/// Which events a channel hears, and the lead times of the events that have them.
public struct NotificationInterest: Sendable, Equatable {
    public var events: Set<NotificationEvent>
    /// Percentages of the licensed seats in use that are worth a message (each once per license).
    public var seatThresholds: [Int]
    /// Days before the license expires that are worth a message (each once per license).
    public var expiringDays: [Int]

    public static let defaultSeatThresholds = [90, 100]
    public static let defaultExpiringDays = [60, 30, 14, 7, 1]

    public init(
        events: Set<NotificationEvent> = Set(NotificationEvent.allCases), seatThresholds: [Int] = Self.defaultSeatThresholds,
        expiringDays: [Int] = Self.defaultExpiringDays
    ) {
        self.events = events
        self.seatThresholds = seatThresholds.sorted()
        self.expiringDays = expiringDays.sorted()
    }
}

/// The state the notification rules look at, read by the service at one moment.
public struct NotificationFacts: Sendable {
    public struct License: Sendable {
        public var id: String
        public var licensee: String
        public var seats: Int64
        public var expiresAt: Date
        public var state: LicenseState
        /// Whole UTC days from today to the expiry day.
        public var daysLeft: Int64?
        public var graceEndsAt: Date?

        public init(
            id: String, licensee: String, seats: Int64, expiresAt: Date, state: LicenseState, daysLeft: Int64?, graceEndsAt: Date?
        ) {
            self.id = id
            self.licensee = licensee
            self.seats = seats
            self.expiresAt = expiresAt
            self.state = state
            self.daysLeft = daysLeft
            self.graceEndsAt = graceEndsAt
        }
    }

    public struct Directory: Sendable {
        public var lastSuccessAt: Date?
        /// Set when no good sync has happened for long enough to call the copy stale.
        public var staleSince: Date?
        /// The latest refusal by the removal guard, if it came after the last good sync.
        public var refusal: (at: Date, message: String)?

        public init(lastSuccessAt: Date?, staleSince: Date?, refusal: (at: Date, message: String)?) {
            self.lastSuccessAt = lastSuccessAt
            self.staleSince = staleSince
            self.refusal = refusal
        }
    }

    public var license: License?
    public var activeSeats: Int64
    /// The latest time recorded (the clock-rollback anchor), naming a tampering episode.
    public var latestSeen: Date?
    public var directory: Directory?
    /// The first broken entry of the audit chain, when the last check found one.
    public var auditBroken: (seq: Int64, problem: String)?
    /// Pending seat requests, oldest first.
    public var pendingRequests: [SeatRequest]
    /// The latest SCIM change refused by the removal guard, if any.
    public var scimRefusal: (at: Date, message: String)? = nil

    public init(
        license: License?, activeSeats: Int64, latestSeen: Date?, directory: Directory?, auditBroken: (seq: Int64, problem: String)?,
        pendingRequests: [SeatRequest]
    ) {
        self.license = license
        self.activeSeats = activeSeats
        self.latestSeen = latestSeen
        self.directory = directory
        self.auditBroken = auditBroken
        self.pendingRequests = pendingRequests
    }
}

/// One occurrence of an event: `key` names it, so that it is sent once however often (and by
/// however many replicas) the facts are looked at.
public struct NotificationOccurrence: Sendable, Equatable {
    public var event: NotificationEvent
    public var key: String
    /// One line (an e-mail's subject).
    public var subject: String
    /// A few sentences: what happened and what to do.
    public var text: String
    public var details: JSONValue

    public init(event: NotificationEvent, key: String, subject: String, text: String, details: JSONValue) {
        self.event = event
        self.key = key
        self.subject = subject
        self.text = text
        self.details = details
    }
}

/// Turns facts into occurrences. Pure: the clock is in the facts (days left, stale since), so
/// lead times are tested by setting the facts, never by waiting.
///
/// Keys are chosen so that an occurrence is the same while its cause lasts: a threshold per
/// license and percentage (crossing it twice sends once), an expiry lead time per license (the
/// shortest lead time reached, so a server started five days before expiry sends the 7-day
/// message, not all of 60/30/14/7 at once), a stale directory or a refused sync per last good
/// sync, a clock alarm per recorded time, a broken chain per first broken entry, seat requests
/// per newest request (one message lists everyone waiting, however many asked at once).
public enum NotificationRules {
    public static func occurrences(_ facts: NotificationFacts, interest: NotificationInterest) -> [NotificationOccurrence] {
        all(facts, interest: interest).filter { interest.events.contains($0.event) }
    }

    static func all(_ facts: NotificationFacts, interest: NotificationInterest) -> [NotificationOccurrence] {
        var out: [NotificationOccurrence] = []
        if let license = facts.license {
            out += licenseOccurrences(license, facts: facts, interest: interest)
            if let threshold = seatThreshold(license, active: facts.activeSeats, interest: interest) { out.append(threshold) }
        }
        if let directory = facts.directory {
            let episode = directory.lastSuccessAt.map { UTC.format($0) } ?? "never"
            if let since = directory.staleSince {
                let last = directory.lastSuccessAt.map { "the last good sync was at \(UTC.format($0))" } ?? "it has never synced"
                out.append(
                    NotificationOccurrence(
                        event: .directoryStale, key: "directory.stale/\(episode)", subject: "The directory copy is stale",
                        text:
                            "Gatehouse has not read the company directory successfully since \(UTC.format(since)) (\(last)). Decisions continue from the last good sync; run `gatehouse ldap test` to see why.",
                        details: ["last_success_at": .optional(directory.lastSuccessAt.map { UTC.format($0) })]))
            }
            if let refusal = directory.refusal {
                out.append(
                    NotificationOccurrence(
                        event: .directorySyncRefused, key: "directory.sync_refused/\(episode)", subject: "A directory sync was refused",
                        text:
                            "The directory sync at \(UTC.format(refusal.at)) was refused and changed nothing: \(refusal.message). If the departures are real, run `gatehouse ldap sync --force`.",
                        details: ["refused_at": .string(UTC.format(refusal.at)), "reason": .string(refusal.message)]))
            }
        }
        if let refusal = facts.scimRefusal {
            // One message an hour at most: the identity provider retries the refused change.
            let hour = String(UTC.format(refusal.at).prefix(13))
            out.append(
                NotificationOccurrence(
                    event: .directorySyncRefused, key: "directory.sync_refused/scim/\(hour)", subject: "A SCIM departure was refused",
                    text:
                        "The identity provider tried to remove more SCIM people within an hour than the removal guard allows, at \(UTC.format(refusal.at)); nothing was changed: \(refusal.message)",
                    details: ["refused_at": .string(UTC.format(refusal.at)), "reason": .string(refusal.message), "source": "scim"]))
        }
        if let broken = facts.auditBroken {
            out.append(
                NotificationOccurrence(
                    event: .auditBroken, key: "audit.broken/\(broken.seq)",
                    subject: "The audit log's chain is broken at entry \(broken.seq)",
                    text:
                        "Entry \(broken.seq) of the audit log no longer matches its hash chain (\(broken.problem)): the log was edited outside Gatehouse. Run `gatehouse audit verify` and compare with a backup.",
                    details: ["first_broken": .int(broken.seq), "problem": .string(broken.problem)]))
        }
        if let newest = facts.pendingRequests.max(by: { ($0.requestedAt, $0.personID) < ($1.requestedAt, $1.personID) }) {
            let count = facts.pendingRequests.count
            let listed = facts.pendingRequests.suffix(20).map(\.identity)
            let more = count > listed.count ? " and \(count - listed.count) more" : ""
            out.append(
                NotificationOccurrence(
                    event: .seatsRequested, key: "seats.requested/\(UTC.format(newest.requestedAt, milliseconds: true))/\(newest.personID)",
                    subject: count == 1 ? "\(newest.identity) is waiting for a seat" : "\(count) people are waiting for a seat",
                    text:
                        "Waiting for a seat: \(listed.joined(separator: ", "))\(more). Approve with `gatehouse seats requests approve USER`, or free seats; pending requests are granted oldest first when seats free up.",
                    details: [
                        "pending": .int(Int64(count)), "newest": .string(newest.identity), "people": .array(listed.map { .string($0) }),
                    ]))
        }
        return out
    }

    static func licenseOccurrences(_ license: NotificationFacts.License, facts: NotificationFacts, interest: NotificationInterest)
        -> [NotificationOccurrence]
    {
        let details: JSONValue = [
            "license_id": .string(license.id), "licensee": .string(license.licensee), "expires_at": .string(UTC.format(license.expiresAt)),
        ]
        switch license.state {
        case .valid, .expiring:
            guard let days = license.daysLeft, days >= 0, let lead = interest.expiringDays.first(where: { Int64($0) >= days }) else {
                return []
            }
            let when = days == 0 ? "today" : "in \(days) day\(days == 1 ? "" : "s")"
            return [
                NotificationOccurrence(
                    event: .licenseExpiring, key: "license.expiring/\(license.id)/\(lead)",
                    subject: "The Codecov license expires \(when)",
                    text:
                        "License \(license.id) (\(license.licensee)) expires on \(UTC.formatDay(license.expiresAt)), \(when). Install the renewal with `gatehouse license install FILE` before then.",
                    details: details.merging(["days_left": .int(days), "lead_days": .int(Int64(lead))]))
            ]
        case .grace:
            let ends = license.graceEndsAt.map { UTC.formatDay($0) } ?? "soon"
            return [
                NotificationOccurrence(
                    event: .licenseGrace, key: "license.grace/\(license.id)",
                    subject: "The Codecov license has expired: grace period until \(ends)",
                    text:
                        "License \(license.id) (\(license.licensee)) expired on \(UTC.formatDay(license.expiresAt)). People who hold seats keep working until \(ends); no new seats are given. Install the renewal now.",
                    details: details.merging(["grace_ends_at": .optional(license.graceEndsAt.map { UTC.format($0) })]))
            ]
        case .expired:
            return [
                NotificationOccurrence(
                    event: .licenseExpired, key: "license.expired/\(license.id)", subject: "The Codecov license has expired",
                    text:
                        "License \(license.id) (\(license.licensee)) expired on \(UTC.formatDay(license.expiresAt)) and its grace period is over: logins and uploads are refused until a license is installed.",
                    details: details)
            ]
        case .clockTampered:
            let latest = facts.latestSeen.map { UTC.format($0) } ?? "unknown"
            return [
                NotificationOccurrence(
                    event: .licenseClockTampered, key: "license.clock_tampered/\(latest)", subject: "The system clock was set back",
                    text:
                        "The system clock is more than a day behind the latest time Gatehouse recorded (\(latest)); decisions are refused until it is corrected. If the clock was once wrong forward, `gatehouse license clock-reset` clears the alarm.",
                    details: details.merging(["latest_seen": .string(latest)]))
            ]
        case .missing, .invalid, .notYetValid:
            return []
        }
    }

    /// The highest configured threshold reached (lower ones are not sent once a higher one is).
    static func seatThreshold(_ license: NotificationFacts.License, active: Int64, interest: NotificationInterest)
        -> NotificationOccurrence?
    {
        guard license.seats > 0,
            let percent = interest.seatThresholds.last(where: { active * 100 >= Int64($0) * license.seats })
        else { return nil }
        let used = active * 100 / license.seats
        return NotificationOccurrence(
            event: .seatsThreshold, key: "seats.threshold/\(license.id)/\(percent)",
            subject: "\(active) of \(license.seats) seats are in use (\(used)%)",
            text:
                "Seat use has reached \(percent)% of license \(license.id): \(active) of \(license.seats) seats. Free idle seats with `gatehouse seats release --inactive-days N`, or ask for more seats (`gatehouse seats quote --add N` prices them).",
            details: [
                "license_id": .string(license.id), "threshold_percent": .int(Int64(percent)), "active": .int(active),
                "licensed": .int(license.seats),
            ])
    }
}

extension JSONValue {
    /// An object with `other`'s members added (theirs win); anything else is returned unchanged.
    func merging(_ other: JSONValue) -> JSONValue {
        guard case .object(var mine) = self, case .object(let theirs) = other else { return self }
        mine.merge(theirs) { _, new in new }
        return .object(mine)
    }
}
