import Crypto
import Foundation
import GatehouseDomain
import GatehouseStorage
import Synchronization

/// Who may use the console (`console:` in gatehouse.yml, SPEC section 11): besides the admins
/// of `login.yml`, members of these groups (any provider's group, team or org name, and the
/// directory's groups), lowercased.
public struct ConsoleSettings: Sendable, Equatable {
    public var adminGroups: Set<String> = []
    public var readGroups: Set<String> = []
    public init(adminGroups: Set<String> = [], readGroups: Set<String> = []) {
        self.adminGroups = adminGroups
        self.readGroups = readGroups
    }
}

/// Someone signed in to the console, and what they may do there.
public struct ConsoleViewer: Sendable {
    public enum Access: String, Sendable { case admin, readOnly = "read_only", none }
    public var holder: SessionHolder
    public var access: Access
    /// The token forms carry: derived from the session's own secret (which only this browser
    /// holds, in its cookie), so it is per session and needs no storage.
    public var csrfToken: String

    public var identity: String { holder.session.identity.description }
    public var mayChange: Bool { access == .admin }
}

extension Gatehouse {
    /// A console sign-in link is good for this long.
    public static let consoleLinkLifetime: TimeInterval = 600

    /// The person behind the session a `Cookie` header carries, with their console access.
    public func consoleViewer(cookieHeader: String) async throws -> ConsoleViewer? {
        guard let gate, let token = GateCookies.value(of: gate.cookies.session, in: cookieHeader),
            let holder = try await sessionHolder(cookieHeader: cookieHeader)
        else { return nil }
        let access: ConsoleViewer.Access = live.read { s in
            if holder.role == .admin { return .admin }
            let groups = Set(
                s.index.identities(of: holder.session.personID).flatMap { identity in
                    s.index.memberships(of: identity.id).filter(\.present).map(\.name)
                })
            if !groups.isDisjoint(with: console.adminGroups) { return .admin }
            if !groups.isDisjoint(with: console.readGroups) { return .readOnly }
            return .none
        }
        return ConsoleViewer(holder: holder, access: access, csrfToken: Self.csrfToken(sessionToken: token))
    }

    static func csrfToken(sessionToken: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("gatehouse console form".utf8), using: SymmetricKey(data: Array(sessionToken.utf8)))
        return Base64.urlEncode(Array(mac))
    }

    /// `gatehouse console sign-in-link --user USER`: a one-time link (ten minutes) that signs an
    /// administrator of `login.yml` in to the console, for the first sign-in before any
    /// provider is set up. Only the link's hash is stored; its creation is audited.
    public func consoleSignInLink(user: String, actor: String) async throws -> (url: String, expiresAt: Date) {
        let gate = try requireGate()
        guard let identity = IdentityRef.parse(user) else {
            throw GatehouseError(.invalidUser, "\"\(user.prefix(100))\" is not provider:username (e.g. github:alice)")
        }
        try await ensureLoaded()
        let admins = live.read { $0.policy.login.admins }
        guard admins.contains(identity) else {
            throw GatehouseError(
                .notConsoleAdmin,
                "\(identity) is not an administrator: add it to login.admins in policies/login.yml and apply the policies first")
        }
        var rng = SystemRandomNumberGenerator()
        let token = SignInSecrets.random(using: &rng)
        let t = now()
        let expires = t.addingTimeInterval(Self.consoleLinkLifetime)
        try await store.createConsoleLink(tokenHash: SignInSecrets.hash(token), identity: identity, expiresAt: expires, actor: actor, at: t)
        return ("\(gate.origin)/console/link?token=" + token, expires)
    }

    /// Takes a console link and starts a session for its administrator (the login decision
    /// runs as for any sign-in: a blocked or departed admin gets none). Returns the cookie.
    public func redeemConsoleLink(token: String, userAgent: String, address: String) async throws -> (
        setCookie: String, session: GateSession
    ) {
        let gate = try requireGate()
        guard token.utf8.count == 43,
            let identity = try await store.takeConsoleLink(tokenHash: SignInSecrets.hash(token), at: now())
        else {
            throw GatehouseError(
                .signinExpired, "this sign-in link has expired or was already used: ask for a new one (gatehouse console sign-in-link)")
        }
        try await syncIfChanged()
        let decision = try await authorizeLogin(LoginRequest(identity: identity, verified: true), actor: "console-link")
        guard decision.allow, let personID = decision.personID else {
            throw GatehouseError(.decision(decision.reason), "\(identity) may not sign in: \(Self.explanation(decision.reason))")
        }
        var rng = SystemRandomNumberGenerator()
        let secret = SignInSecrets.random(using: &rng)
        let started = now()
        let session = GateSession(
            id: SignInSecrets.sessionID(using: &rng), tokenHash: SignInSecrets.hash(secret), personID: personID, identity: identity,
            signIn: "console-link", createdAt: started, expiresAt: started.addingTimeInterval(gate.session.maxAge), lastSeenAt: started,
            userAgent: String(userAgent.prefix(200)), address: String(address.prefix(64)))
        try await start(session, actor: "console-link:\(identity)")
        return (gate.cookies.setCookie(gate.cookies.session, secret, maxAge: Int(gate.session.maxAge)), session)
    }

    /// One page of people for the console, searched and filtered in memory (no database read):
    /// by name, e-mail, person id or any identity, case-insensitively. The name order and each
    /// person's search text are made once per change of people, not per page.
    public func peoplePage(search: String?, seat: SeatState?, page: Int, perPage: Int = 50) async throws -> PeoplePage {
        try await ensureLoaded()
        let needle = Array((search?.trimmingCharacters(in: .whitespaces).lowercased() ?? "").utf8)
        return live.read { s in
            let version = (s.index.peopleVersion, s.index.personCount)
            var order = peopleOrderCache.withLock { $0 }
            if order?.version.0 != version.0 || order?.version.1 != version.1 {
                var entries = s.index.allPersons.map { person -> PeopleOrder.Entry in
                    let identities = s.index.identities(of: person.id).map(\.ref.description)
                    let text = ([person.name, person.id, person.email ?? ""] + identities).joined(separator: "\n").lowercased()
                    return PeopleOrder.Entry(id: person.id, sortName: person.name.lowercased(), text: Array(text.utf8), seat: person.seat)
                }
                entries.sort { ($0.sortName, $0.id) < ($1.sortName, $1.id) }
                let made = PeopleOrder(version: version, entries: entries)
                peopleOrderCache.withLock { $0 = made }
                order = made
            }
            let all = order?.entries ?? []
            // One pass over the cached entries (seat and search text in each; a change of either is
            // audited, which makes new entries) counts the matches and keeps the asked page's ids;
            // only those are looked up. Unfiltered, the page is a slice. A page past the end is the last.
            func collect(from first: Int) -> (total: Int, people: [PersonRecord]) {
                if needle.isEmpty, seat == nil {
                    let ids = all[min(first, all.count)..<min(first + perPage, all.count)].map(\.id)
                    return (all.count, ids.compactMap { s.index.person($0) })
                }
                var total = 0
                var ids: [String] = []
                for entry in all where (seat == nil || entry.seat == seat) && (needle.isEmpty || Self.contains(entry.text, needle)) {
                    if total >= first, total < first + perPage { ids.append(entry.id) }
                    total += 1
                }
                return (total, ids.compactMap { s.index.person($0) })
            }
            let asked = max(1, page)
            var (total, slice) = collect(from: (asked - 1) * perPage)
            let pages = max(1, (total + perPage - 1) / perPage)
            let current = min(asked, pages)
            if current != asked { slice = collect(from: (current - 1) * perPage).people }
            return PeoplePage(
                people: slice.map { ($0, s.index.identities(of: $0.id).map(\.ref.description).sorted()) }, total: total, page: current,
                pages: pages)
        }
    }

    /// Whether `needle` occurs in `text` (bytes: the search text is lowercased UTF-8 already):
    /// the C library's `memchr` finds each candidate first byte, `memcmp` checks the rest, so a
    /// 100,000-person list is searched in a few milliseconds.
    static func contains(_ text: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        return text.withUnsafeBufferPointer { t in
            needle.withUnsafeBufferPointer { n in
                guard var start = t.baseAddress, let wanted = n.baseAddress else { return false }
                var remaining = t.count
                while remaining >= n.count {
                    guard let hit = memchr(start, Int32(first), remaining - n.count + 1) else { return false }
                    let candidate = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(candidate, wanted, n.count) == 0 { return true }
                    let skipped = candidate - start + 1
                    start += skipped
                    remaining -= skipped
                }
                return false
            }
        }
    }

    /// The term's seat history (peak, overage, the daily series to today), read from the
    /// database once per change: keyed by the audit chain's head (every seat change is
    /// audited), the license and the day.
    func termHistory(termStart: Date, licensed: Int64, end: Date?) async throws -> TermHistory {
        let head = try await store.auditChainHead()?.seq ?? 0
        let t = now()
        let key = "\(head)/\(UTC.format(termStart))/\(licensed)/\(UTC.formatDay(t))"
        if let cached = termHistoryCache.withLock({ $0 }), cached.key == key { return cached }
        let history = try await store.seatEvents(since: termStart)
        let figures = SeatUsage.figures(startActive: history.startActive, termStart: termStart, events: history.events, licensed: licensed)
        let last = min(t, (end ?? t).addingTimeInterval(-1))
        let daily = SeatUsageSeries.daily(events: history.events, startActive: history.startActive, from: termStart, to: last)
        let fresh = TermHistory(key: key, figures: figures, daily: daily)
        termHistoryCache.withLock { $0 = fresh }
        return fresh
    }

    /// The overview's seat chart: the term's daily peaks to today.
    public func termDailyUsage() async throws -> [DailyUsage] {
        try await ensureLoaded()
        guard let license = live.read({ $0.license }) else { return [] }
        return try await termHistory(termStart: license.termStartsAt, licensed: license.seats, end: license.expiresAt).daily
    }
}

/// A term's seat figures and daily series, with the key they were made for.
struct TermHistory: Sendable {
    let key: String
    let figures: TermSeatFigures
    let daily: [DailyUsage]
}

/// Everyone in name order with the text a search looks in, for one version of the people.
struct PeopleOrder: Sendable {
    struct Entry: Sendable {
        let id: String
        let sortName: String
        /// Name, id, e-mail and identities, lowercased UTF-8.
        let text: [UInt8]
        let seat: SeatState
    }
    let version: (UInt64, Int)
    let entries: [Entry]
}

/// A page of the console's people list.
public struct PeoplePage: Sendable {
    public var people: [(person: PersonRecord, identities: [String])]
    public var total: Int
    public var page: Int
    public var pages: Int
}

extension Gatehouse {
    /// Every reason a license file would be refused here, all at once (the console lists them
    /// before trying to install): its signature, the vendor's rules, this instance, its dates.
    public func licenseProblems(text: String) async throws -> [String] {
        let verification = LicenseVerifier.verify(text, trusted: trustedKeys, instanceHost: instanceHost)
        var problems = verification.problems.map(\.message)
        if verification.isValid {
            let evaluation = LicenseEvaluator.evaluate(verification, now: now(), latestSeen: try await latestSeenInEffect())
            if evaluation.state == .expired || evaluation.state == .clockTampered { problems += evaluation.warnings }
        }
        return problems
    }

    /// A person's seat given and taken, newest first.
    public func seatHistory(user: String, limit: Int = 50) async throws -> [SeatHistoryEntry] {
        try await store.seatHistory(personID: try await resolveUser(user).id, limit: limit)
    }

    /// Amendments in force over time, with their prorated charges, oldest first.
    public func prorationLedger() async throws -> [ProrationRecord] { try await store.prorations() }
}

extension Gatehouse {
    /// Egress refusals by destination and reason since `days` days ago, most refused first
    /// (what this process counted and has not written yet included).
    public func egressRefusals(days: Int) async throws -> [(destination: String, reason: String, count: Int64)] {
        try await flushBookkeeping()
        let since = UTC.formatDay(now().addingTimeInterval(-Double(days) * 86_400))
        var totals: [String: [String: Int64]] = [:]
        for (key, count) in try await store.egressDenialCounts(since: since) {
            totals[key.destination, default: [:]][key.reason, default: 0] += count
        }
        return totals.flatMap { destination, reasons in reasons.map { (destination: destination, reason: $0.key, count: $0.value) } }
            .sorted { ($0.count, $1.destination, $1.reason) > ($1.count, $0.destination, $0.reason) }
    }

    /// The egress policy in force (mode and the private-network rule), for the console.
    public func egressPolicyInForce() async throws -> EgressPolicy { try await policyInEffect().egress }
}
