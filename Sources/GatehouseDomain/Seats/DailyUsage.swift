import Foundation

/// Seats in use on one UTC day: the most at any moment, and how many at the day's end.
public struct DailyUsage: Sendable, Equatable {
    public var day: Date
    public var peak: Int64
    public var end: Int64

    public init(day: Date, peak: Int64, end: Int64) {
        self.day = day
        self.peak = peak
        self.end = end
    }
}

/// Derives daily seat usage from seat events (each carrying the active count right after it).
public enum SeatUsageSeries {
    /// One entry per UTC day from `from`'s day to `to`'s day inclusive. `startActive` is the
    /// count before the first event; `events` are `(time, active after)` in time order.
    public static func daily(events: [(at: Date, activeAfter: Int64)], startActive: Int64, from: Date, to: Date) -> [DailyUsage] {
        let first = UTC.dayNumber(from), last = UTC.dayNumber(to)
        guard first <= last else { return [] }
        var result: [DailyUsage] = []
        result.reserveCapacity(Int(last - first + 1))
        var active = startActive
        var index = events.startIndex
        // Events before the first day only set the starting count.
        while index < events.endIndex, UTC.dayNumber(events[index].at) < first {
            active = events[index].activeAfter
            index += 1
        }
        for day in first...last {
            var peak = active
            while index < events.endIndex, UTC.dayNumber(events[index].at) == day {
                active = events[index].activeAfter
                peak = max(peak, active)
                index += 1
            }
            result.append(DailyUsage(day: Date(timeIntervalSince1970: TimeInterval(day * UTC.secondsPerDay)), peak: peak, end: active))
        }
        return result
    }
}
