import Foundation
import GatehouseDomain
import Testing

@Suite("Proration, computed by hand")
struct ProrationTests {
    func prorate(_ seats: Int64, _ price: Int64, term: (String, String), on effective: String) throws -> Proration {
        try Proration.compute(
            addedSeats: seats, seatPriceCents: price, currency: "USD", termStart: day(term.0), effective: day(effective),
            expires: day(term.1))
    }

    @Test func midTermExample() throws {
        // 2026-11-01 → 2027-11-01 is 365 days; from 2027-05-01, 184 remain.
        // 10 × 25,000 × 184 / 365 = 126,027.39… cents → 126,027.
        let p = try prorate(10, 25_000, term: ("2026-11-01", "2027-11-01"), on: "2027-05-01")
        #expect(p.termDays == 365)
        #expect(p.remainingDays == 184)
        #expect(p.amountCents == 126_027)
    }

    @Test func termSpanningLeapDay() throws {
        // 2027-03-01 → 2028-03-01 contains 2028-02-29: 366 days.
        let first = try prorate(1, 36_600, term: ("2027-03-01", "2028-03-01"), on: "2027-03-01")
        #expect(first.termDays == 366)
        #expect(first.remainingDays == 366)
        #expect(first.amountCents == 36_600)  // the first day of the term: the full year
        let leapDay = try prorate(1, 36_600, term: ("2027-03-01", "2028-03-01"), on: "2028-02-29")
        #expect(leapDay.remainingDays == 1)  // the last day of the term
        #expect(leapDay.amountCents == 100)
        let beforeLeap = try prorate(3, 36_600, term: ("2027-03-01", "2028-03-01"), on: "2028-02-28")
        #expect(beforeLeap.remainingDays == 2)
        #expect(beforeLeap.amountCents == 600)
    }

    @Test func firstAndLastDayOfTerm() throws {
        let first = try prorate(7, 25_000, term: ("2026-11-01", "2027-11-01"), on: "2026-11-01")
        #expect(first.remainingDays == 365)
        #expect(first.amountCents == 175_000)
        // Last day: 1 of 365 days; 7 × 25,000 / 365 = 479.45… → 479.
        let last = try prorate(7, 25_000, term: ("2026-11-01", "2027-11-01"), on: "2027-10-31")
        #expect(last.remainingDays == 1)
        #expect(last.amountCents == 479)
    }

    @Test func halfCentsRoundToEven() throws {
        // 366-day term, 183 days left: exactly half of the price.
        let term = ("2027-03-01", "2028-03-01")
        #expect(try prorate(1, 1, term: term, on: "2027-08-31").amountCents == 0)  // 0.5 → 0
        #expect(try prorate(1, 3, term: term, on: "2027-08-31").amountCents == 2)  // 1.5 → 2
        #expect(try prorate(1, 5, term: term, on: "2027-08-31").amountCents == 2)  // 2.5 → 2
        #expect(try prorate(1, 7, term: term, on: "2027-08-31").amountCents == 4)  // 3.5 → 4
        #expect(try prorate(1, 7, term: term, on: "2027-08-31").remainingDays == 183)
        #expect(Proration.roundHalfEven(10, dividedBy: 4) == 2)  // 2.5
        #expect(Proration.roundHalfEven(14, dividedBy: 4) == 4)  // 3.5
        #expect(Proration.roundHalfEven(11, dividedBy: 4) == 3)  // 2.75
        #expect(Proration.roundHalfEven(9, dividedBy: 4) == 2)  // 2.25
    }

    @Test func outsideTheTermIsRefused() {
        #expect(throws: Proration.Failure.self) { try prorate(1, 25_000, term: ("2026-11-01", "2027-11-01"), on: "2027-11-01") }
        #expect(throws: Proration.Failure.self) { try prorate(1, 25_000, term: ("2026-11-01", "2027-11-01"), on: "2026-10-31") }
        #expect(throws: Proration.Failure.self) { try prorate(0, 25_000, term: ("2026-11-01", "2027-11-01"), on: "2027-01-01") }
    }

    @Test func moneyFormatting() {
        #expect(Money.format(cents: 126_027, currency: "USD") == "1,260.27 USD")
        #expect(Money.format(cents: 5, currency: "USD") == "0.05 USD")
        #expect(Money.format(cents: 5_000_000, currency: "USD") == "50,000.00 USD")
    }
}

@Suite("UTC arithmetic")
struct UTCTests {
    @Test func civilDatesRoundTrip() {
        for n in stride(from: Int64(-800_000), to: 800_000, by: 997) {
            let (y, m, d) = UTC.civil(fromDayNumber: n)
            #expect(UTC.dayNumber(year: y, month: m, day: d) == n)
        }
        #expect(UTC.parseDay("2028-02-29") != nil)
        #expect(UTC.parseDay("2027-02-29") == nil)
        #expect(UTC.parseDay("2026-13-01") == nil)
        #expect(UTC.parseDay("2026-1-01") == nil)
    }

    @Test func timestamps() {
        #expect(UTC.format(ts("2026-11-01T12:34:56Z")) == "2026-11-01T12:34:56Z")
        #expect(UTC.format(ts("2026-11-01T12:34:56.789Z"), milliseconds: true) == "2026-11-01T12:34:56.789Z")
        #expect(UTC.parseTimestamp("2026-11-01T12:34:56+02:00") == nil)
        #expect(UTC.parseTimestamp("2026-11-01 12:34:56Z") == nil)
        #expect(UTC.parseTimestamp("2026-11-01T24:00:00Z") == nil)
        #expect(UTC.days(from: ts("2026-11-01T23:59:59Z"), to: ts("2026-11-02T00:00:00Z")) == 1)
    }

    /// Timestamps are read from their bytes (a replica's load reads a million): every
    /// millisecond time formatted reads back, and nothing but the exact shape is accepted.
    @Test func timestampsReadFromTheirBytes() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<100_000 {
            let millis = Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &rng)
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            let text = UTC.format(date, milliseconds: true)
            #expect(UTC.format(ts(text), milliseconds: true) == text)
            #expect(UTC.format(ts(UTC.format(date))) == UTC.format(date))
        }
        #expect(ts("1970-01-01T00:00:00.5Z").timeIntervalSince1970 == 0.5)
        #expect(abs(ts("1970-01-02T00:00:01.000000001Z").timeIntervalSince1970 - 86_401.000000001) < 1e-6)
        #expect(ts("2028-02-29T23:59:59Z") == UTC.parseDay("2028-02-29")!.addingTimeInterval(86_399))
        for refused in [
            "2027-02-29T00:00:00Z", "2026-11-01T12:34:60Z", "2026-11-01T12:60:00Z", "2026-00-01T00:00:00Z", "2026-11-00T00:00:00Z",
            "2026-11-01T12:34:56.Z", "2026-11-01T12:34:56.1234567891Z", "2026-11-01T12:34:56,5Z", "2026-11-01T12:34:5xZ",
            "+026-11-01T12:34:56Z", "2026-11-1T12:34:56Z", "２０２６-11-01T12:34:56Z", "2026-11-01T12:34:56z", "2026-11-01T12:34:56",
            "2026-11-01T12:34:56Z ", " 2026-11-01T12:34:56Z", "2026-11-01T1:34:56Z", "", "Z",
        ] {
            #expect(UTC.parseTimestamp(refused) == nil, "\(refused)")
        }
    }
}

@Suite("Dates that cannot crash")
struct ExtremeDateTests {
    @Test(arguments: [
        Date.distantPast, Date.distantFuture, Date(timeIntervalSince1970: -1e15), Date(timeIntervalSince1970: 1e18),
        Date(timeIntervalSince1970: .infinity), Date(timeIntervalSince1970: -.infinity),
    ])
    func formattingClamps(_ date: Date) {
        let text = UTC.format(date, milliseconds: true)
        #expect(text.hasPrefix("0001-") || text.hasPrefix("9999-") || text.hasPrefix("4001-"))
        _ = UTC.dayNumber(date)
        _ = UTC.formatDay(date)
    }
}

@Suite("Daily seat usage")
struct DailyUsageTests {
    @Test func seriesFromEvents() {
        let events: [(at: Date, activeAfter: Int64)] = [
            (ts("2026-10-31T12:00:00Z"), 4),  // before the range: sets the start
            (ts("2026-11-01T08:00:00Z"), 5), (ts("2026-11-01T09:00:00Z"), 6), (ts("2026-11-01T17:00:00Z"), 5),
            (ts("2026-11-03T10:00:00Z"), 7),
        ]
        let series = SeatUsageSeries.daily(events: events, startActive: 0, from: day("2026-11-01"), to: ts("2026-11-04T12:00:00Z"))
        #expect(series.map(\.peak) == [6, 5, 7, 7])
        #expect(series.map(\.end) == [5, 5, 7, 7])
        #expect(series.map { UTC.formatDay($0.day) } == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"])
        #expect(SeatUsageSeries.daily(events: [], startActive: 3, from: day("2026-11-02"), to: day("2026-11-01")).isEmpty)
    }
}
