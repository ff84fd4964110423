import Foundation
import GatehouseDomain
import GatehouseService
import Testing

/// The notification rules alone: which occurrences the facts give, keyed so that each is sent once.
@Suite("Notification rules")
struct NotificationRulesTests {
    static func license(state: LicenseState = .valid, daysLeft: Int64? = 200, seats: Int64 = 10) -> NotificationFacts.License {
        NotificationFacts.License(
            id: "lic_1", licensee: "Acme", seats: seats, expiresAt: ts("2027-11-01T00:00:00Z"), state: state, daysLeft: daysLeft,
            graceEndsAt: ts("2027-11-15T00:00:00Z"))
    }

    static func facts(
        license: NotificationFacts.License? = license(), active: Int64 = 0, directory: NotificationFacts.Directory? = nil,
        requests: [SeatRequest] = []
    ) -> NotificationFacts {
        NotificationFacts(
            license: license, activeSeats: active, latestSeen: ts("2026-11-20T00:00:00Z"), directory: directory, auditBroken: nil,
            pendingRequests: requests)
    }

    static func keys(_ facts: NotificationFacts, _ interest: NotificationInterest = NotificationInterest()) -> [String] {
        NotificationRules.occurrences(facts, interest: interest).map(\.key)
    }

    @Test("Expiry lead times: the shortest reached, once per lead time, none before the longest")
    func leadTimes() {
        var sent: [String] = []
        for days in stride(from: Int64(90), through: 0, by: -1) {
            for key in Self.keys(Self.facts(license: Self.license(daysLeft: days))) where !sent.contains(key) { sent.append(key) }
        }
        #expect(sent.map { $0.replacingOccurrences(of: "license.expiring/lic_1/", with: "") } == ["60", "30", "14", "7", "1"])
        // A server started five days before expiry sends the 7-day message only.
        #expect(Self.keys(Self.facts(license: Self.license(daysLeft: 5))) == ["license.expiring/lic_1/7"])
        // Lead times are the channel's own.
        #expect(
            Self.keys(Self.facts(license: Self.license(daysLeft: 80)), NotificationInterest(expiringDays: [90, 3])) == [
                "license.expiring/lic_1/90"
            ])
        #expect(Self.keys(Self.facts(license: Self.license(state: .grace, daysLeft: -2))) == ["license.grace/lic_1"])
        #expect(Self.keys(Self.facts(license: Self.license(state: .expired, daysLeft: -20))) == ["license.expired/lic_1"])
        #expect(Self.keys(Self.facts(license: Self.license(state: .clockTampered))) == ["license.clock_tampered/2026-11-20T00:00:00Z"])
    }

    @Test("A SCIM departure refused by the removal guard: told once an hour, with what to run")
    func scimRefusal() {
        var facts = Self.facts()
        facts.scimRefusal = (ts("2026-11-20T10:15:00Z"), "refused: 5 of 50 SCIM people have left in the last hour")
        let found = NotificationRules.occurrences(facts, interest: NotificationInterest()).filter { $0.event == .directorySyncRefused }
        #expect(found.map(\.key) == ["directory.sync_refused/scim/2026-11-20T10"])
        #expect(found.first?.text.contains("5 of 50 SCIM people") == true)
        facts.scimRefusal = (ts("2026-11-20T10:55:00Z"), "refused again")
        #expect(NotificationRules.occurrences(facts, interest: NotificationInterest()).contains { $0.key == "directory.sync_refused/scim/2026-11-20T10" })
    }

    @Test("Seat thresholds: the highest reached, per license; lower ones are not sent after it")
    func thresholds() {
        #expect(Self.keys(Self.facts(active: 8)).isEmpty)
        #expect(Self.keys(Self.facts(active: 9)) == ["seats.threshold/lic_1/90"])
        #expect(Self.keys(Self.facts(active: 10)) == ["seats.threshold/lic_1/100"])
        #expect(Self.keys(Self.facts(active: 12)) == ["seats.threshold/lic_1/100"])
        #expect(Self.keys(Self.facts(active: 12), NotificationInterest(seatThresholds: [50, 120])) == ["seats.threshold/lic_1/120"])
        let text = NotificationRules.occurrences(Self.facts(active: 9), interest: NotificationInterest())[0]
        #expect(text.subject == "9 of 10 seats are in use (90%)")
    }

    @Test("Seat requests: one message per newest request, listing who waits")
    func requests() {
        let a = SeatRequest(personID: "p_a", identity: "github:alice", kind: .login, requestedAt: ts("2026-11-20T10:00:00Z"))
        let b = SeatRequest(personID: "p_b", identity: "github:bob", kind: .upload, requestedAt: ts("2026-11-20T10:05:00Z"))
        let one = NotificationRules.occurrences(Self.facts(requests: [a]), interest: NotificationInterest())
        let two = NotificationRules.occurrences(Self.facts(requests: [a, b]), interest: NotificationInterest())
        #expect(one.map(\.subject) == ["github:alice is waiting for a seat"])
        #expect(two.map(\.subject) == ["2 people are waiting for a seat"])
        #expect(one[0].key != two[0].key)
        #expect(two[0].text.contains("github:alice, github:bob"))
    }

    @Test("Directory: stale and refused once per last good sync; events a channel did not ask for are not raised")
    func directory() {
        let success = ts("2026-11-19T00:00:00Z")
        let stale = NotificationFacts.Directory(
            lastSuccessAt: success, staleSince: success, refusal: (ts("2026-11-20T00:00:00Z"), "31 of 100 people would leave"))
        let keys = Self.keys(Self.facts(directory: stale))
        #expect(keys == ["directory.stale/2026-11-19T00:00:00Z", "directory.sync_refused/2026-11-19T00:00:00Z"])
        #expect(
            Self.keys(Self.facts(active: 10, directory: stale), NotificationInterest(events: [.directorySyncRefused])) == [
                "directory.sync_refused/2026-11-19T00:00:00Z"
            ])
    }

    @Test("A webhook signature verifies, and fails for another body, secret or an old timestamp")
    func signature() {
        let body = Array(#"{"event":"test"}"#.utf8)
        let now = ts("2026-11-26T12:00:00Z")
        let stamp = Int64(now.timeIntervalSince1970)
        let signature = NotificationSignature.sign(body: body, timestamp: stamp, secret: "k")
        #expect(signature.hasPrefix("sha256=") && signature.count == 71)
        #expect(NotificationSignature.verify(body: body, timestamp: String(stamp), signature: signature, secret: "k", now: now) == nil)
        #expect(
            NotificationSignature.verify(body: body + [32], timestamp: String(stamp), signature: signature, secret: "k", now: now)
                == .badSignature)
        #expect(
            NotificationSignature.verify(body: body, timestamp: String(stamp), signature: signature, secret: "j", now: now) == .badSignature
        )
        #expect(
            NotificationSignature.verify(
                body: body, timestamp: String(stamp), signature: signature, secret: "k", now: now.addingTimeInterval(600))
                == .badSignature)
        #expect(NotificationSignature.verify(body: body, timestamp: nil, signature: signature, secret: "k", now: now) == .missingSignature)
    }

    @Test("Backoff: 30 s, doubling to an hour, given up a day after the occurrence was raised")
    func backoff() {
        let raised = ts("2026-11-26T00:00:00Z")
        #expect(
            NotificationBackoff.outcome(ofFailure: "x", attempts: 1, raisedAt: raised, at: raised)
                == .retry(error: "x", next: raised.addingTimeInterval(30)))
        #expect(
            NotificationBackoff.outcome(ofFailure: "x", attempts: 3, raisedAt: raised, at: raised)
                == .retry(error: "x", next: raised.addingTimeInterval(120)))
        #expect(
            NotificationBackoff.outcome(ofFailure: "x", attempts: 30, raisedAt: raised, at: raised)
                == .retry(error: "x", next: raised.addingTimeInterval(3600)))
        #expect(
            NotificationBackoff.outcome(ofFailure: "x", attempts: 30, raisedAt: raised, at: raised.addingTimeInterval(86_000))
                == .gaveUp(error: "x"))
    }
}
