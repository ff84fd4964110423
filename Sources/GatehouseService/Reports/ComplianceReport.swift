import Foundation
import GatehouseDomain
import GatehouseStorage

/// Who had access, when, under which license and policy — as of a date, from the recorded
/// history (SPEC section 8). Rendered as JSON, CSV or one self-contained HTML page.
public struct ComplianceReport: Sendable {
    public struct Holder: Sendable {
        public var person: PersonRecord
        public var identities: [String]
    }

    public var asOf: Date
    public var generatedAt: Date
    public var license: StoredLicense?
    public var licenseState: LicenseState
    public var daily: [DailyUsage]
    public var activeSeats: Int64
    public var holders: [Holder]
    public var admins: [String]
    public var policy: StoredPolicySet?
    public var denials: [String: Int64]
    /// The latest individual denials up to the report's date (newest first, at most 50).
    public var recentDenials: [DenialEntry]
    /// Egress refusals counted per destination and reason over the term up to the report's
    /// date, most refused first.
    public var egressDenials: [(destination: String, reason: String, count: Int64)]
    public var audit: AuditVerifyReport

    public var peak: Int64 { daily.map(\.peak).max() ?? activeSeats }

    public var json: JSONValue {
        [
            "as_of": .string(UTC.format(asOf)), "generated_at": .string(UTC.format(generatedAt)),
            "license": license.map { l in
                [
                    "license_id": .string(l.licenseID), "licensee": .string(l.licensee), "seats": .int(l.seats),
                    "term_starts_at": .string(UTC.format(l.termStartsAt)), "expires_at": .string(UTC.format(l.expiresAt)),
                    "state": .string(licenseState.rawValue),
                ]
            } ?? ["state": .string(licenseState.rawValue)],
            "seat_usage": [
                "active": .int(activeSeats), "peak_in_term": .int(peak),
                "daily": .array(daily.map { ["date": .string(UTC.formatDay($0.day)), "peak": .int($0.peak), "end": .int($0.end)] }),
            ],
            "seat_holders": .array(holders.map { h in
                [
                    "person": .string(h.person.id), "name": .string(h.person.name), "email": .optional(h.person.email),
                    "identities": .array(h.identities.map(JSONValue.string)),
                    "last_seen_at": .optional(h.person.lastSeenAt.map { UTC.format($0) }),
                ]
            }),
            "admins": .array(admins.map(JSONValue.string)),
            "policy": policy.map { p in
                ["sha256": .string(p.sha256), "applied_at": .string(UTC.format(p.appliedAt)), "applied_by": .string(p.appliedBy)]
            } ?? .null,
            "denials_by_reason": .object(denials.mapValues(JSONValue.int)),
            "recent_denials": .array(recentDenials.map {
                ["at": .string(UTC.format($0.at)), "kind": .string($0.kind), "reason": .string($0.reason), "subject": .string($0.subject)]
            }),
            "egress_denials_by_destination": .object(Dictionary(grouping: egressDenials, by: \.destination).mapValues { rows in
                .object(Dictionary(uniqueKeysWithValues: rows.map { ($0.reason, JSONValue.int($0.count)) }))
            }),
            "audit_chain": audit.json,
        ]
    }

    /// `section,key,value,detail` rows: summary facts, then one row per seat holder, per
    /// denial reason, per egress destination and reason, and per day.
    public var csv: String {
        var rows = [["section", "key", "value", "detail"]]
        rows.append(["report", "as_of", UTC.format(asOf), "generated \(UTC.format(generatedAt))"])
        if let l = license {
            rows.append(["license", "license_id", l.licenseID, l.licensee])
            rows.append(["license", "seats", String(l.seats), "\(UTC.formatDay(l.termStartsAt)) – \(UTC.formatDay(l.expiresAt))"])
        }
        rows.append(["license", "state", licenseState.rawValue, ""])
        rows.append(["seats", "active", String(activeSeats), ""])
        rows.append(["seats", "peak_in_term", String(peak), ""])
        for h in holders {
            rows.append(["seat_holder", h.person.id, h.identities.joined(separator: " "), h.person.lastSeenAt.map { "last seen \(UTC.format($0))" } ?? "never seen"])
        }
        for a in admins { rows.append(["admin", a, "", ""]) }
        if let p = policy { rows.append(["policy", "sha256", p.sha256, "applied \(UTC.format(p.appliedAt)) by \(p.appliedBy)"]) }
        for (reason, count) in denials.sorted(by: { $0.key < $1.key }) { rows.append(["denials", reason, String(count), ""]) }
        for e in egressDenials { rows.append(["egress_denials", e.destination, String(e.count), e.reason]) }
        for d in daily { rows.append(["daily", UTC.formatDay(d.day), String(d.peak), "end \(d.end)"]) }
        rows.append(["audit_chain", "ok", audit.ok ? "true" : "false", audit.ok ? "\(audit.entries) entries" : "broken at \(audit.firstBroken ?? 0): \(audit.problem ?? "")"])
        return rows.map { $0.map(AuditEntry.csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }
}

extension Gatehouse {
    /// The compliance report as of the end of `day` (UTC), or now.
    public func complianceReport(asOf day: Date?) async throws -> ComplianceReport {
        let t = now()
        let asOf = day.map { min(t, $0.addingTimeInterval(TimeInterval(UTC.secondsPerDay) - 0.001)) } ?? t
        if live.isLoaded { try await flushBookkeeping() }
        let license = try await store.license(asOf: asOf)
        let verification = license.map { LicenseVerifier.verify($0.fileText, trusted: trustedKeys, instanceHost: instanceHost) }
        let state = LicenseEvaluator.evaluate(verification, now: asOf, latestSeen: nil).state
        var daily: [DailyUsage] = []
        var active: Int64 = 0
        if let license {
            let (start, events) = try await store.seatEvents(since: license.termStartsAt)
            let upTo = events.filter { $0.at <= asOf }
            daily = SeatUsageSeries.daily(events: upTo, startActive: start, from: license.termStartsAt, to: min(asOf, license.expiresAt.addingTimeInterval(-1)))
            active = upTo.last?.activeAfter ?? start
        }
        let holderIDs = Set(try await store.seatHolders(asOf: asOf))
        var holders: [ComplianceReport.Holder] = []
        var admins = Set<String>()
        for person in try await store.persons(seat: nil, notSeenSince: nil) {
            if person.role == .admin { admins.insert(person.id) }
            guard holderIDs.contains(person.id) else { continue }
            holders.append(.init(person: person, identities: try await store.identities(personID: person.id).map(\.ref.description)))
        }
        let policySet = try await store.policySet(asOf: asOf)
        if let policySet, let policy = PolicyLoader.parse(files: policySet.files).policy {
            admins.formUnion(policy.login.admins.map(\.description))
        }
        let lastDay = UTC.formatDay(asOf)
        var denials: [String: Int64] = [:]
        for (key, count) in try await store.denialCounts(since: license.map { UTC.formatDay($0.termStartsAt) }) where key.day <= lastDay {
            denials["\(key.kind)/\(key.reason)", default: 0] += count
        }
        var egress: [String: [String: Int64]] = [:]
        for (key, count) in try await store.egressDenialCounts(since: license.map { UTC.formatDay($0.termStartsAt) }) where key.day <= lastDay {
            egress[key.destination, default: [:]][key.reason, default: 0] += count
        }
        let egressDenials = egress.flatMap { destination, reasons in reasons.map { (destination: destination, reason: $0.key, count: $0.value) } }
            .sorted { ($0.count, $1.destination, $1.reason) > ($1.count, $0.destination, $0.reason) }
        return ComplianceReport(
            asOf: asOf, generatedAt: t, license: license, licenseState: state, daily: daily, activeSeats: active, holders: holders,
            admins: admins.sorted(), policy: policySet, denials: denials,
            recentDenials: Array(try await store.recentDenials(limit: LiveState.keptDenials).filter { $0.at <= asOf }.prefix(50)),
            egressDenials: egressDenials, audit: try await verifyAudit())
    }
}
