import Foundation
import GatehouseDomain
import GatehouseStorage

extension PeopleIndex {
    /// What differs between this index and `other` in what decisions read — people (but
    /// their last-seen time, which memory notes before the database), identities, memberships
    /// and gate sessions (but their last-seen time) — one line per difference, at most `limit`.
    /// Empty when the two agree.
    public func divergence(from other: PeopleIndex, limit: Int = 20) -> [String] {
        var out: [String] = []
        func compare<K: Hashable & Comparable, V: Equatable>(_ what: String, _ mine: [K: V], _ theirs: [K: V]) {
            for key in Set(mine.keys).union(theirs.keys).sorted() where out.count < limit {
                let a = mine[key], b = theirs[key]
                if a != b { out.append("\(what) \(key): memory \(a.map { "\($0)" } ?? "none"), database \(b.map { "\($0)" } ?? "none")") }
            }
        }
        func withoutSeen(_ p: PersonRecord) -> PersonRecord {
            var p = p
            p.lastSeenAt = nil
            return p
        }
        func withoutSeen(_ s: GateSession) -> GateSession {
            var s = s
            s.lastSeenAt = .distantPast
            return s
        }
        compare("person", personsByID.mapValues(withoutSeen), other.personsByID.mapValues(withoutSeen))
        compare("identity", identitiesByKey, other.identitiesByKey)
        compare(
            "memberships of identity", membershipsByIdentity.mapValues { $0.filter(\.present) }.filter { !$0.value.isEmpty },
            other.membershipsByIdentity.mapValues { $0.filter(\.present) }.filter { !$0.value.isEmpty })
        compare("session", sessions.mapValues(withoutSeen), other.sessions.mapValues(withoutSeen))
        return out
    }
}

extension Gatehouse {
    /// Compares what this process holds in memory with a fresh read of the database: the
    /// differences, one line each (empty when memory follows every write). Service tests run
    /// it after their operations; a difference is a write whose effect memory missed until
    /// the next reload.
    public func memoryDivergence() async throws -> [String] {
        guard live.isLoaded else { return [] }
        let stored = PeopleIndex(try await store.peopleSnapshot())
        let (index, tokens, license, policy) = live.read { ($0.index, $0.tokens, $0.license, $0.policy) }
        var out = index.divergence(from: stored)
        let storedTokens = Dictionary(try await store.tokens().map { ($0.hash, $0) }, uniquingKeysWith: { a, _ in a })
        if tokens != storedTokens {
            out.append("tokens: memory \(tokens.values.map(\.name).sorted()), database \(storedTokens.values.map(\.name).sorted())")
        }
        let storedLicense = try await store.licenseInForce()
        if license?.licenseID != storedLicense?.licenseID {
            out.append("license: memory \(license?.licenseID ?? "none"), database \(storedLicense?.licenseID ?? "none")")
        }
        if policy != Self.policy(from: try await store.policySetInForce()) {
            out.append("policy set: memory differs from the one in force")
        }
        return out
    }
}
