import Foundation
import GatehouseDomain
import GatehouseStorage

/// A person with their identities, for `users list|show` and the admin API.
public struct PersonReport: Sendable {
    public var person: PersonRecord
    public var identities: [IdentityRecord]
    public var memberships: [MembershipRecord]

    public var json: JSONValue {
        [
            "id": .string(person.id), "name": .string(person.name), "email": .optional(person.email), "role": .string(person.role.rawValue),
            "status": .string(person.status.rawValue), "seat": .string(person.seat.rawValue),
            "last_seen_at": .optional(person.lastSeenAt.map { UTC.format($0) }), "created_at": .string(UTC.format(person.createdAt)),
            "identities": .array(identities.map { .string($0.ref.description) }),
            "memberships": .array(
                memberships.map { ["kind": .string($0.kind.rawValue), "name": .string($0.name), "source": .string($0.source.rawValue)] }),
        ]
    }

    /// CSV columns of `users list --format csv` (the review before a true-up).
    public static let csvHeader = "id,name,email,status,seat,last_seen_at,created_at,identities"

    /// One RFC 4180 row. Names and emails come from providers and people: a cell that a
    /// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) is prefixed with `'`.
    public var csvRow: String {
        [
            person.id, person.name, person.email ?? "", person.status.rawValue, person.seat.rawValue,
            person.lastSeenAt.map { UTC.format($0) } ?? "", UTC.format(person.createdAt), identities.map(\.ref.description).joined(separator: " "),
        ].map { AuditEntry.csvField(Self.inert($0)) }.joined(separator: ",")
    }

    static func inert(_ cell: String) -> String {
        guard let first = cell.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return cell }
        return "'" + cell
    }

    public var line: String {
        "\(person.id)\t\(person.seat == .active ? "seat" : "-")\t\(person.status.rawValue)\t\(identities.map(\.ref.description).joined(separator: ","))\t"
            + (person.lastSeenAt.map { "seen \(UTC.format($0))" } ?? "never seen")
    }
}

extension Gatehouse {
    /// Finds a person by `provider:username`, person id, or email.
    public func resolveUser(_ text: String) async throws -> PersonRecord {
        try await ensureLoaded()
        var personID: String?
        if PersonID.isValid(text) {
            personID = text
        } else if let ref = IdentityRef.parse(text) {
            personID = live.read { $0.index.identity(ref)?.personID }
        } else if let problem = Self.identityProblem(text) {
            throw GatehouseError(.invalidUser, "\"\(text)\": \(problem)")
        } else if text.contains("@") {
            personID = live.read { $0.index.personID(email: text) }
        } else {
            throw GatehouseError(.invalidUser, "\"\(text)\" is not provider:username, a person id (p_…) or an email")
        }
        guard let personID, let person = try await store.person(id: personID) else {
            throw GatehouseError(.userNotFound, "no person matches \(text)")
        }
        return person
    }

    /// Why `provider:username` text with a known provider is not an identity, if it is not.
    static func identityProblem(_ text: String) -> String? {
        guard let colon = text.firstIndex(of: ":"), let provider = Provider(rawValue: String(text[..<colon])) else { return nil }
        return IdentityRef.usernameProblem(String(text[text.index(after: colon)...]), provider: provider).map { "the username \($0)" }
    }

    /// The `inactive days` filter accepts up to a hundred years.
    public static let inactiveDaysRange: ClosedRange<Int64> = 0...36_500

    public func users(seat: SeatState?, inactiveDays: Int64?) async throws -> [PersonReport] {
        if let inactiveDays, !Self.inactiveDaysRange.contains(inactiveDays) {
            throw GatehouseError(.invalidInactiveDays,
                "inactive days must be a whole number from \(Self.inactiveDaysRange.lowerBound) to \(Self.inactiveDaysRange.upperBound)")
        }
        try await ensureLoaded()
        // Last-seen times noted in memory count, as they do when seats are released.
        if inactiveDays != nil { try await flushBookkeeping() }
        let since = inactiveDays.map { now().addingTimeInterval(-Double($0) * 86_400) }
        let persons = try await store.persons(seat: seat, notSeenSince: since)
        return live.read { s in
            persons.map { person in
                let identities = s.index.identities(of: person.id)
                return PersonReport(
                    person: person, identities: identities,
                    memberships: identities.flatMap { s.index.memberships(of: $0.id) }.sorted { $0.name < $1.name })
            }
        }
    }

    public func user(_ text: String) async throws -> PersonReport {
        let person = try await resolveUser(text)
        let identities = try await store.identities(personID: person.id)
        var memberships: [MembershipRecord] = []
        for identity in identities { memberships += try await store.memberships(identityID: identity.id) }
        return PersonReport(person: person, identities: identities, memberships: memberships)
    }

    /// Links an identity to a person: one person, one seat, however many identities.
    public func link(user: String, identity text: String, actor: String) async throws -> PersonReport {
        guard let ref = IdentityRef.parse(text) else {
            throw GatehouseError(.invalidIdentity, "\"\(text)\" is not provider:username (providers: \(Provider.names))")
        }
        let person = try await resolveUser(user)
        let grant = try await seatGrant()
        commit(try await store.changePeople(at: now()) { try SeatRules.link(ref, to: person.id, actor: actor, grant: grant, facts: $0) })
        return try await self.user(person.id)
    }

    public func unlink(identity text: String, actor: String) async throws {
        guard let ref = IdentityRef.parse(text) else {
            throw GatehouseError(.invalidIdentity, "\"\(text)\" is not provider:username (providers: \(Provider.names))")
        }
        let grant = try await seatGrant()
        do { commit(try await store.changePeople(at: now()) { try SeatRules.unlink(ref, actor: actor, grant: grant, facts: $0) }) } catch let error as StoreError
            where error.code == .notFound
        {
            throw GatehouseError(.identityNotFound, "no identity \(ref)")
        }
    }

    /// Blocks (no login; the seat is released) or unblocks a person.
    public func setBlocked(_ user: String, blocked: Bool, actor: String) async throws -> PersonReport {
        let person = try await resolveUser(user)
        if !blocked, person.status == .leftDirectory {
            throw GatehouseError(.leftDirectory, "\(person.id) has left the directory; the directory sync decides their status")
        }
        let grant = try await seatGrant()
        commit(
            try await store.changePeople(at: now()) {
                try SeatRules.setStatus(
                    personID: person.id, to: blocked ? .blocked : .active, actor: actor, reason: blocked ? "blocked" : "unblocked", grant: grant,
                    facts: $0)
            })
        return try await self.user(person.id)
    }
}
