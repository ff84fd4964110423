import Foundation
import GatehouseDomain
import GatehouseStorage
import Synchronization

/// A server's clock observations: where they started, and when one was last put in the chain.
struct ClockObserver: Sendable {
    let anchor: ClockAnchor
    let start: ContinuousClock.Instant
    var lastChained: Date?
}

extension Gatehouse {
    /// A `clock.observe` audit entry at most this often per replica; the `clock` row (a hint
    /// an edit can take back) every minute in between.
    static let clockChainInterval: TimeInterval = 3600

    /// Records the latest time seen, so that a clock later set back is detected (run by the
    /// server every minute, never by a one-off command). The time is bounded by how much real
    /// time has passed since this server started (`ClockAnchor`), so a clock set forward is
    /// not taken at its word; once an hour it goes into the audit chain, where editing cannot
    /// take it back. Never lowers the recorded time.
    public func observeClock() async throws {
        try await observeClock(wall: now(), at: .now)
    }

    /// As `observeClock()`, with the monotonic instant given (tests).
    func observeClock(wall: Date, at instant: ContinuousClock.Instant) async throws {
        let recorded = try await store.latestSeen()
        var observer = clockObserver.withLock { $0 }
        if observer == nil {
            let newestEntry = try await store.auditEntries(AuditQuery(limit: 1)).last.flatMap { UTC.parseTimestamp($0.at) }
            let anchor = ClockAnchor(base: recorded ?? newestEntry ?? wall, wall: wall)
            observer = clockObserver.withLock { current in
                if current == nil { current = ClockObserver(anchor: anchor, start: instant) }
                return current
            }
        }
        guard let observer else { return }
        let elapsed = observer.start.duration(to: instant)
        let time = observer.anchor.bounded(wall: wall, elapsed: elapsed.seconds)
        var latest = recorded
        if recorded == nil || time > recorded! {
            if observer.lastChained.map({ time.timeIntervalSince($0) >= Self.clockChainInterval }) ?? true {
                try await store.recordClockObservation(time, replica: replicaID)
                clockObserver.withLock { $0?.lastChained = time }
                latest = time
            } else if recorded.map({ time.timeIntervalSince($0) >= 60 }) ?? true {
                try await store.recordSeen(time)
                latest = time
            }
        }
        // Decisions and `/v1/license` judge the clock against the same time.
        if live.isLoaded { live.update { $0.latestSeen = latest } }
    }

    /// The latest time seen, as decisions use it: from memory in a serving process, so that
    /// status and decisions agree.
    func latestSeenInEffect() async throws -> Date? {
        if live.isLoaded { return live.read { $0.latestSeen } }
        return try await store.latestSeen()
    }

    /// Clears a false clock alarm (the clock was once wrong forward and has been corrected):
    /// the latest time seen becomes now; audited `clock.reset` with the time it replaces.
    public func resetClock(actor: String, reason: String?) async throws -> ClockResetReport {
        let t = now()
        let previous = try await store.latestSeen()
        try await store.resetClock(to: t, previous: previous, reason: reason, actor: actor)
        live.apply { if $0.loaded { $0.latestSeen = t } }
        return ClockResetReport(previous: previous, now: t, status: try await licenseStatus())
    }
}

/// What `license clock-reset` did.
public struct ClockResetReport: Sendable {
    public let previous: Date?
    public let now: Date
    public let status: LicenseStatusReport

    public var json: JSONValue {
        [
            "previous_latest_seen": .optional(previous.map { UTC.format($0) }), "latest_seen": .string(UTC.format(now)),
            "license": status.json,
        ]
    }

    public var text: String {
        let was = previous.map { "was \(UTC.format($0))" } ?? "none was recorded"
        return "the latest time seen is now \(UTC.format(now)) (\(was)); license \(status.state.rawValue)"
    }
}
