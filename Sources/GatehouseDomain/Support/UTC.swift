import Foundation

/// Calendar arithmetic in UTC on whole days, without `Calendar` or time zones.
///
/// License terms and proration are defined in whole UTC days (SPEC section 4), so every
/// conversion here is exact integer arithmetic on seconds since 1970.
public enum UTC {
    public static let secondsPerDay: Int64 = 86_400

    /// Seconds since 1970 of 0001-01-01 and 9999-12-31T23:59:59Z: dates are clamped to this
    /// range before any integer conversion, so no date, however absurd, can trap.
    static let earliestSeconds: Double = -62_135_596_800
    static let latestSeconds: Double = 253_402_300_799

    static func clampedSeconds(_ date: Date) -> Double {
        let t = date.timeIntervalSince1970
        guard t.isFinite else { return t > 0 ? latestSeconds : earliestSeconds }
        return min(max(t, earliestSeconds), latestSeconds)
    }

    /// The UTC day number (days since 1970-01-01) that contains `date`.
    public static func dayNumber(_ date: Date) -> Int64 {
        let seconds = Int64(clampedSeconds(date).rounded(.down))
        return seconds >= 0 ? seconds / secondsPerDay : -((-seconds + secondsPerDay - 1) / secondsPerDay)
    }

    /// Whole UTC days from the day of `start` to the day of `end` (negative when `end` is earlier).
    public static func days(from start: Date, to end: Date) -> Int64 {
        dayNumber(end) - dayNumber(start)
    }

    /// Midnight UTC at the start of `date`'s day.
    public static func startOfDay(_ date: Date) -> Date {
        Date(timeIntervalSince1970: TimeInterval(dayNumber(date) * secondsPerDay))
    }

    /// Civil date (year, month, day) of a day number (Howard Hinnant's algorithm).
    public static func civil(fromDayNumber z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Day number of a civil date; `nil` when the date does not exist (e.g. 2026-02-29).
    public static func dayNumber(year: Int64, month: Int64, day: Int64) -> Int64? {
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `YYYY-MM-DD` of `date`'s UTC day.
    public static func formatDay(_ date: Date) -> String {
        let (y, m, d) = civil(fromDayNumber: dayNumber(date))
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, or with milliseconds (`.SSS`) when asked. Sub-second digits
    /// beyond what is printed are truncated, never rounded up into the next second.
    public static func format(_ date: Date, milliseconds: Bool = false) -> String {
        let clamped = clampedSeconds(date)
        var totalMillis = Int64((clamped * 1000).rounded(.down))
        // A time read from text (`parseTimestamp`) may lie a few ulps below its millisecond
        // (`Date` keeps seconds since 2001, so the ulps are those of that count, too): within
        // floating-point precision it is that millisecond, not the one before.
        let precision = 4 * max(abs(clamped), abs(date.timeIntervalSinceReferenceDate)).ulp
        if Double(totalMillis + 1) / 1000 - clamped <= precision { totalMillis += 1 }
        let millis = ((totalMillis % 1000) + 1000) % 1000
        let seconds = (totalMillis - millis) / 1000
        let day = seconds >= 0 ? seconds / secondsPerDay : -((-seconds + secondsPerDay - 1) / secondsPerDay)
        let secondOfDay = seconds - day * secondsPerDay
        let (y, m, d) = civil(fromDayNumber: day)
        var text = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T"
        text += pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay % 3600 / 60, 2) + ":" + pad(secondOfDay % 60, 2)
        if milliseconds { text += "." + pad(millis, 3) }
        return text + "Z"
    }

    /// `date` as the database keeps it (to the millisecond, as `format(_:milliseconds: true)`
    /// writes it): what memory holds after a write, so that it equals what a reload reads.
    public static func asStored(_ date: Date) -> Date { parseTimestamp(format(date, milliseconds: true)) ?? date }

    /// Parses `YYYY-MM-DD` as midnight UTC.
    public static func parseDay(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]),
            let n = dayNumber(year: y, month: m, day: d)
        else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(n * secondsPerDay))
    }

    /// Parses an RFC 3339 UTC timestamp: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`. Offsets other
    /// than `Z` are refused: license and audit times are always written in UTC.
    public static func parseTimestamp(_ text: String) -> Date? {
        // Read in place: a replica's load parses a million of these.
        var text = text
        return text.withUTF8 { parseTimestamp(bytes: $0) }
    }

    /// `parseTimestamp` of UTF-8 bytes in place (a database's own buffer).
    public static func parseTimestamp(bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        let count = bytes.count
        guard count >= 20, count <= 30, bytes[count - 1] == UInt8(ascii: "Z"), bytes[4] == UInt8(ascii: "-"),
            bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"),
            bytes[16] == UInt8(ascii: ":")
        else { return nil }
        /// The decimal number in `range`; `nil` unless every byte is an ASCII digit.
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for i in range {
                let digit = bytes[i] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
            }
            return value
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10), let dayNumber = dayNumber(year: y, month: m, day: d),
            let hh = number(11..<13), let mm = number(14..<16), let ss = number(17..<19), hh < 24, mm < 60, ss < 60
        else { return nil }
        var fraction = 0.0
        if count > 20 {
            guard bytes[19] == UInt8(ascii: "."), count > 21, let digits = number(20..<(count - 1)) else { return nil }
            fraction = Double(digits) / pow(10, Double(count - 21))
        }
        let day = Date(timeIntervalSince1970: TimeInterval(dayNumber * secondsPerDay))
        return day.addingTimeInterval(TimeInterval(hh * 3600 + mm * 60 + ss) + fraction)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
