import Foundation

/// How far a server lets the recorded "latest time seen" run ahead of what it can vouch for.
///
/// The recorded time only serves to notice a clock set back, so recording too little costs
/// little, while recording a clock that is wrong forward locks everyone out once it is
/// corrected. So the recorded time never runs ahead of real elapsed time (the monotonic clock)
/// since the server started, and a jump found at start (the clock ahead of the time last
/// recorded: a downtime, or a clock set forward) is taken in at most one extra second per
/// second of running. A server started 30 days ahead for ten minutes records twenty minutes;
/// a week's downtime is caught up after a week of running; a jump while running is never
/// recorded. On a database where no server has recorded a time yet, the newest audit entry's
/// time stands in for the last recorded one.
public struct ClockAnchor: Sendable, Equatable {
    /// The latest time recorded when the server started (else the newest audit entry's time,
    /// else its clock then). Too late a base is harmless (`startWall` bounds as well).
    public let base: Date
    /// The server's clock when it started.
    public let startWall: Date

    public init(base: Date, wall: Date) {
        self.base = base
        self.startWall = wall
    }

    /// The time to record when the clock reads `wall`, `elapsed` seconds (monotonic) after the start.
    public func bounded(wall: Date, elapsed: TimeInterval) -> Date {
        let elapsed = max(0, elapsed)
        return min(wall, base.addingTimeInterval(2 * elapsed), startWall.addingTimeInterval(elapsed))
    }
}
