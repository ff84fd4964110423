import Foundation

/// The seat figures of a term as vendors report them for a true-up (GitLab's license API has
/// the same two): the most seats ever in use at once and when that was first reached, and how
/// far that went above the seats licensed, with when usage first went above them.
public struct TermSeatFigures: Sendable, Equatable {
    public var historicalMax: Int64
    public var historicalMaxAt: Date?
    public var overage: Int64
    /// When more seats than licensed were first in use this term (`nil`: never).
    public var overageSince: Date?

    public init(historicalMax: Int64, historicalMaxAt: Date?, overage: Int64, overageSince: Date?) {
        self.historicalMax = historicalMax
        self.historicalMaxAt = historicalMaxAt
        self.overage = overage
        self.overageSince = overageSince
    }
}

/// Warnings about how full the license is.
public enum SeatUsage {
    /// The term's figures from its seat history: the count in use when the term began (at
    /// `termStart`) and every change since, in order.
    public static func figures(startActive: Int64, termStart: Date, events: [(at: Date, activeAfter: Int64)], licensed: Int64)
        -> TermSeatFigures
    {
        var max = startActive
        var maxAt: Date? = startActive > 0 ? termStart : nil
        var overSince: Date? = startActive > licensed ? termStart : nil
        for event in events {
            if event.activeAfter > max {
                max = event.activeAfter
                maxAt = event.at
            }
            if overSince == nil, event.activeAfter > licensed { overSince = event.at }
        }
        return TermSeatFigures(historicalMax: max, historicalMaxAt: maxAt, overage: Swift.max(0, max - licensed), overageSince: overSince)
    }

    /// Warns at 90% and at 100% of licensed seats.
    public static func warnings(active: Int64, licensed: Int64) -> [String] {
        guard licensed > 0 else { return [] }
        if active >= licensed {
            return ["all \(licensed) licensed seats are in use (\(active) active): new people cannot be given a seat"]
        }
        if active * 10 >= licensed * 9 {
            return ["\(active) of \(licensed) seats are in use (≥ 90%)"]
        }
        return []
    }
}
