import Foundation
import GatehouseDomain
import GatehouseStorage

/// `seats status` / `GET /v1/seats`.
public struct SeatStatusReport: Sendable {
    public var licensed: Int64
    public var limit: Int64
    public var active: Int64
    /// The term's historical maximum and overage, with their dates (for the true-up).
    public var term: TermSeatFigures
    /// The most seats in use at once this term (`term.historicalMax`).
    public var peak: Int64 { term.historicalMax }
    public var warnings: [String]

    public var json: JSONValue {
        [
            "licensed": .int(licensed), "limit": .int(limit), "active": .int(active), "available": .int(max(0, limit - active)),
            "peak": .int(peak), "historical_max": .int(term.historicalMax),
            "historical_max_at": .optional(term.historicalMaxAt.map { UTC.format($0) }), "overage": .int(term.overage),
            "overage_since": .optional(term.overageSince.map { UTC.format($0) }), "warnings": .array(warnings.map(JSONValue.string)),
        ]
    }

    public var text: String {
        var lines = ["seats: \(active) active of \(licensed) licensed (limit \(limit), \(max(0, limit - active)) available); peak this term \(peak)"]
        if let at = term.historicalMaxAt { lines.append("historical maximum: \(term.historicalMax) on \(UTC.formatDay(at))") }
        if let since = term.overageSince {
            lines.append("overage: \(term.overage) above licensed (first above on \(UTC.formatDay(since))): a true-up is due")
        }
        return (lines + warnings.map { "warning: \($0)" }).joined(separator: "\n")
    }
}

extension SeatRequest {
    public var json: JSONValue {
        ["person_id": .string(personID), "identity": .string(identity), "kind": .string(kind.rawValue), "requested_at": .string(UTC.format(requestedAt))]
    }

    public var line: String { "\(UTC.format(requestedAt))\t\(personID)\t\(identity)\t\(kind.rawValue)" }
}

/// `seats release --inactive-days N`: whose seats were (or would be) given back.
public struct InactiveReleaseReport: Sendable {
    public var days: Int64
    public var cutoff: Date
    public var dryRun: Bool
    public var released: [String]

    public var json: JSONValue {
        [
            "inactive_days": .int(days), "not_seen_since": .string(UTC.format(cutoff)), "dry_run": .bool(dryRun),
            "released": .array(released.map { .string($0) }), "count": .int(Int64(released.count)),
        ]
    }

    public var text: String {
        let head =
            dryRun
            ? "dry run, nothing changed: \(released.count) seat\(released.count == 1 ? "" : "s") would be released (not seen since \(UTC.format(cutoff)))"
            : "released \(released.count) seat\(released.count == 1 ? "" : "s") of people not seen since \(UTC.format(cutoff))"
        return ([head] + released.map { "  - \($0)" }).joined(separator: "\n")
    }
}

/// `seats true-up`: the term's peak against what was bought.
public struct TrueUpReport: Sendable {
    public var licenseID: String
    public var licensed: Int64
    public var peak: Int64
    public var overage: Int64
    public var quote: QuoteReport?

    public var json: JSONValue {
        [
            "license_id": .string(licenseID), "licensed": .int(licensed), "peak": .int(peak), "overage": .int(overage),
            "quote": quote?.json ?? .null,
        ]
    }

    public var text: String {
        var text = "\(licenseID): peak \(peak) of \(licensed) licensed seats this term"
        if let quote {
            text += "; \(overage) seat\(overage == 1 ? "" : "s") over: adding them today costs\n" + quote.text
        } else {
            text += "; no true-up needed"
        }
        return text
    }
}

extension Gatehouse {
    public func seatStatus() async throws -> SeatStatusReport {
        try await ensureLoaded()
        let t = now()
        let (license, limit, evaluation) = live.read { s in
            (
                s.license, s.policy.seats.limit(licensed: s.license?.seats ?? 0),
                LicenseEvaluator.evaluate(s.verification, now: t, latestSeen: s.latestSeen)
            )
        }
        let licensed = license?.seats ?? 0
        // The term's history gives its peak (the historical maximum) and overage.
        let term = try await termHistory(termStart: license?.termStartsAt ?? .distantPast, licensed: licensed, end: license?.expiresAt).figures
        let active = try await store.activeSeatCount()
        var warnings = SeatUsage.warnings(active: active, licensed: licensed)
        if license == nil { warnings.append("no license is installed") }
        if license != nil, evaluation.state != .valid { warnings += evaluation.warnings }
        return SeatStatusReport(licensed: licensed, limit: limit, active: active, term: term, warnings: warnings)
    }

    /// Gives a seat to a user (creating `provider:username` if new), within the limit.
    public func activateSeat(user: String, actor: String) async throws -> PersonReport {
        try await ensureLoaded()
        let t = now()
        let (state, limit) = live.read { s in
            (
                LicenseEvaluator.evaluate(s.verification, now: t, latestSeen: s.latestSeen).state,
                s.policy.seats.limit(licensed: s.license?.seats ?? 0)
            )
        }
        guard state.allowsNewSeats else {
            throw GatehouseError(
                DecisionReason.forLicense(state).map { .decision($0) } ?? .own(.licenseGrace),
                "no new seats while the license is \(state.rawValue)")
        }
        let target: SeatTarget
        let denied: IdentityRef?
        if let ref = IdentityRef.parse(user), live.read({ $0.index.identity(ref) }) == nil {
            target = .newIdentity(newIdentity(ref, nil, nil, nil))
            denied = live.read { $0.policy.login.deny.contains(ref) } ? ref : nil
        } else {
            let person = try await resolveUser(user)
            target = .person(person.id)
            denied = live.read { s in s.index.identities(of: person.id).map(\.ref).first { s.policy.login.deny.contains($0) } }
        }
        // The deny list outranks an administrator's activation: a seat nobody may use is a seat wasted.
        if let denied {
            throw GatehouseError(
                .decision(.deniedByPolicy),
                "\(denied) is on the deny list (login.yml): remove it there first if they should have a seat")
        }
        let result = try await activate(target, claims: nil, actor: actor, reason: "activated by an administrator", at: now())
        switch result.outcome {
        case .activated, .alreadyActive: return try await self.user(result.person!.id)
        case .noSeatAvailable, .requested:
            throw GatehouseError(.noSeatAvailable, "all \(limit) seats are in use")
        case .ineligible(let status):
            throw GatehouseError(
                status == .blocked ? .decision(.userBlocked) : .own(.userLeftDirectory),
                "\(user) is \(status.rawValue.replacingOccurrences(of: "_", with: " ")) and cannot hold a seat")
        }
    }

    public func deactivateSeat(user: String, actor: String, reason: String = "deactivated by an administrator") async throws -> PersonReport
    {
        let person = try await resolveUser(user)
        commit(try await releaseSeat(person.id, actor: actor, reason: reason))
        return try await self.user(person.id)
    }

    /// Gives a person's seat back (the seat rules' release: sessions end too); nothing if none.
    func releaseSeat(_ personID: String, actor: String, reason: String) async throws -> CommittedPeoplePlan {
        let grant = try await seatGrant()
        return try await store.changePeople(at: now()) {
            try SeatRules.release(personID: personID, actor: actor, reason: reason, grant: grant, facts: $0)
        }
    }

    /// How freed seats go to pending requests under the policy in force (`nil`: they do not).
    func seatGrant() async throws -> SeatGrant? {
        try await ensureLoaded()
        return live.read { $0.policy.seats.grant(licensed: $0.license?.seats ?? 0) }
    }

    /// Pending seat requests, oldest first, with who asked.
    public func seatRequests() async throws -> [SeatRequest] { try await store.seatRequests() }

    /// Grants a pending request now (a seat must be free); audited with the administrator as actor.
    public func approveSeatRequest(user: String, actor: String) async throws -> PersonReport {
        let person = try await resolveUser(user)
        let limit = live.read { $0.policy.seats.limit(licensed: $0.license?.seats ?? 0) }
        do {
            commit(try await store.changePeople(at: now()) { try SeatRules.approve(personID: person.id, limit: limit, actor: actor, facts: $0) })
        } catch let error as StoreError {
            throw GatehouseError(error.code == .conflict ? .own(.noSeatAvailable) : .own(.noSeatRequest), error.message)
        }
        return try await self.user(person.id)
    }

    /// Turns a pending request down; audited.
    public func rejectSeatRequest(user: String, actor: String) async throws {
        let person = try await resolveUser(user)
        do {
            commit(try await store.changePeople(at: now()) { try SeatRules.reject(personID: person.id, actor: actor, facts: $0) })
        } catch let error as StoreError where error.code == .notFound {
            throw GatehouseError(.noSeatRequest, error.message)
        }
    }

    public func trueUp() async throws -> TrueUpReport {
        try await ensureLoaded()
        guard let license = live.read({ $0.license }) else {
            throw GatehouseError(.licenseMissing, "no license is in force: install one first")
        }
        let usage = try await store.seatUsage(since: license.termStartsAt)
        let overage = max(0, usage.peak - license.seats)
        let quote = overage > 0 ? try? await self.quote(add: overage, on: nil) : nil
        return TrueUpReport(licenseID: license.licenseID, licensed: license.seats, peak: usage.peak, overage: overage, quote: quote)
    }

    /// Releases seats not used for `deactivate_inactive_after_days` (actor `system`).
    /// Returns the people released.
    @discardableResult
    public func sweepInactiveSeats() async throws -> [String] {
        try await ensureLoaded()
        let days = Int64(live.read { $0.policy.seats.deactivateInactiveAfterDays })
        guard days > 0 else { return [] }
        return try await releaseInactiveSeats(days: days, dryRun: false, actor: "system").released
    }

    /// Gives back the seats of everyone not seen for `days` days, in one transaction (audited
    /// per seat and as one `seats.release_inactive`); with `dryRun`, only says whose.
    public func releaseInactiveSeats(days: Int64, dryRun: Bool, actor: String) async throws -> InactiveReleaseReport {
        guard Self.inactiveDaysRange.contains(days) else {
            throw GatehouseError(
                .invalidInactiveDays,
                "inactive days must be a whole number from \(Self.inactiveDaysRange.lowerBound) to \(Self.inactiveDaysRange.upperBound)")
        }
        // Last-seen times noted in memory count: a person seen a minute ago is not dormant.
        if live.isLoaded { try await flushBookkeeping() }
        let cutoff = now().addingTimeInterval(-Double(days) * 86_400)
        let grant = try await seatGrant()
        let rule: @Sendable (any PeopleFacts) throws -> PeoplePlan = {
            try SeatRules.releaseInactive(days: days, cutoff: cutoff, actor: actor, grant: grant, facts: $0)
        }
        let plan: PeoplePlan
        if dryRun {
            plan = try await store.previewPeople(rule)
        } else {
            let committed = try await store.changePeople(at: now(), rule)
            commit(committed)
            plan = committed.plan
        }
        return InactiveReleaseReport(days: days, cutoff: cutoff, dryRun: dryRun, released: SeatRules.released(by: plan))
    }
}
