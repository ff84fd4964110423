import Foundation
import GatehouseDomain
import GatehouseStorage
import Testing

@testable import GatehouseService

/// `activateSeats` writes the rows of first logins in bulk (one statement per table); it must
/// write exactly what the same activations write one by one. Two fresh databases of one engine
/// get the same history, then the same seeded random activations — new people, the same new
/// login twice, logins joined to people stored before or created earlier in the batch, people
/// already stored with and without a seat, claims, a full house that refuses or files seat
/// requests — one by one on the first, in random batches on the second. Every answer and
/// everything stored is compared, down to the audit chain's hashes.
@Suite("Seat activations in bulk", .serialized)
struct BulkActivationTests {
    @Test(arguments: Engine.allCases) func aBatchWritesWhatOneByOneWrites(engine: Engine) async throws {
        for seed in UInt64(1)...4 {
            let (_, one, _) = try await gatehouseWithLicense(engine: engine, seats: 14)
            let (_, bulk, _) = try await gatehouseWithLicense(engine: engine, seats: 14)
            let at = ts("2026-11-10T00:00:00Z")
            var history: [PersonRecord] = []
            for gatehouse in [one, bulk] { history = try await Self.storeHistory(gatehouse.store, at: at) }

            var random = SeededGenerator(seed: seed)
            let whenFull: SeatPolicy.WhenFull = seed % 2 == 0 ? .request : .deny
            let items = Self.activations(&random, history: history, whenFull: whenFull, at: at)

            // One by one; an activation its rule refuses (a login joined to a person whose own
            // first login found no seat) writes nothing, and is left out of the batches.
            var oneByOne: [ActivationResult] = []
            var kept: [SeatActivation] = []
            for item in items {
                do {
                    oneByOne.append(
                        try await one.store.activateSeat(item.target, claims: item.claims, actor: item.actor, at: item.at, rule: item.rule))
                    kept.append(item)
                } catch let error as StoreError where error.code == .notFound {}
            }
            #expect(kept.count > 20, "seed \(seed): \(kept.count) activations")
            var batched: [ActivationResult] = []
            var rest = kept[...]
            while !rest.isEmpty {
                let n = Int.random(in: 1...12, using: &random)
                batched += try await bulk.store.activateSeats(Array(rest.prefix(n)))
                rest = rest.dropFirst(n)
            }

            let outcomes = oneByOne.map(\.outcome)
            #expect(outcomes.contains(.activated) && outcomes.contains(.alreadyActive), "seed \(seed): \(outcomes)")
            #expect(outcomes.contains(whenFull == .request ? .requested : .noSeatAvailable), "seed \(seed): \(outcomes)")
            for (i, (a, b)) in zip(oneByOne, batched).enumerated() {
                #expect(a.outcome == b.outcome && a.activeSeats == b.activeSeats, "seed \(seed), activation \(i)")
                #expect(a.person == b.person && a.identity == b.identity, "seed \(seed), activation \(i)")
                #expect(a.claimsRecorded == b.claimsRecorded && a.committed == b.committed, "seed \(seed), activation \(i)")
            }
            let (storedOne, storedBulk) = (try await Self.stored(one.store), try await Self.stored(bulk.store))
            #expect(storedOne == storedBulk, "seed \(seed): the stored state differs")
            #expect(try await bulk.verifyAudit().ok)
        }
    }

    /// Everything an activation writes, in a comparable form.
    static func stored(_ store: any Store) async throws -> [String] {
        let snapshot = try await store.peopleSnapshot()
        var lines = snapshot.persons.map { "person \($0)" }.sorted()
        lines += snapshot.identities.map { "identity \($0)" }.sorted()
        lines += snapshot.memberships.map { "membership \($0)" }.sorted()
        lines += try await store.seatRequests().map { "request \($0)" }
        lines += try await store.seatEvents(since: ts("2026-01-01T00:00:00Z")).events.map { "seat event \($0.at) \($0.activeAfter)" }
        lines += try await store.auditEntries(AuditQuery()).map { "audit \($0.seq) \($0.action) \($0.subject) \($0.details) \($0.hash)" }
        lines.append("seats \(try await store.activeSeatCount())")
        return lines
    }

    /// Three people with seats, three without (one with two logins), stored the same way in each database.
    static func storeHistory(_ store: any Store, at: Date) async throws -> [PersonRecord] {
        for i in 0..<6 {
            let new = NewIdentity(
                ref: IdentityRef(provider: .github, username: "stored\(i)"), externalID: nil, email: "stored\(i)@acme.test", linkTo: nil,
                newPersonID: "p_stored\(i)")
            _ = try await store.changePeople(at: at) { try SeatRules.createIdentity(new, actor: "test", facts: $0) }
            if i < 3 {
                _ = try await store.activateSeat(.person("p_stored\(i)"), claims: nil, actor: "test", at: at) {
                    try SeatRules.activate(.person("p_stored\(i)"), limit: 14, actor: "test", reason: "history", at: at, facts: $0)
                }
            }
        }
        let second = NewIdentity(
            ref: IdentityRef(provider: .gitlab, username: "stored5"), externalID: "55", email: nil, linkTo: "p_stored5",
            newPersonID: "p_unused")
        _ = try await store.changePeople(at: at) { try SeatRules.createIdentity(second, actor: "test", facts: $0) }
        return try await store.persons(seat: nil, notSeenSince: nil)
    }

    /// Thirty activations of every kind a batch may hold, for a limit of 14 seats (3 held).
    static func activations(_ random: inout SeededGenerator, history: [PersonRecord], whenFull: SeatPolicy.WhenFull, at: Date)
        -> [SeatActivation]
    {
        var items: [SeatActivation] = []
        var newPeople: [(ref: IdentityRef, personID: String)] = []
        let orgs = ["acme", "globex", "initech"]
        let teams = ["acme/eng", "acme/ops", "globex/web"]
        for i in 0..<30 {
            let t = at.addingTimeInterval(Double(i))
            let kind = Int.random(in: 0..<10, using: &random)
            let target: SeatTarget
            if kind < 2, let earlier = newPeople.randomElement(using: &random) {
                // The same new login again, or another login joined to a person new in this batch.
                target =
                    kind == 0
                    ? .newIdentity(NewIdentity(ref: earlier.ref, externalID: nil, email: nil, linkTo: nil, newPersonID: "p_again\(i)"))
                    : .newIdentity(
                        NewIdentity(
                            ref: IdentityRef(provider: .gitlab, username: "joined\(i)"), externalID: "\(i)", email: nil,
                            linkTo: earlier.personID, newPersonID: "p_unused\(i)"))
            } else if kind == 2, let person = history.randomElement(using: &random) {
                target = .newIdentity(
                    NewIdentity(
                        ref: IdentityRef(provider: .bitbucket, username: "linked\(i)"), externalID: nil, email: person.email,
                        linkTo: person.id, newPersonID: "p_unused\(i)"))
            } else if kind == 3, let person = history.randomElement(using: &random) {
                target = .person(person.id)
            } else {
                let ref = IdentityRef(provider: .github, username: "New\(i)")
                newPeople.append((ref, "p_new\(i)"))
                target = .newIdentity(
                    NewIdentity(ref: ref, externalID: "\(1000 + i)", email: "new\(i)@acme.test", linkTo: nil, newPersonID: "p_new\(i)"))
            }
            let claims: MembershipClaims? =
                Bool.random(using: &random)
                ? MembershipClaims(
                    identityID: nil, orgs: Set(orgs.filter { _ in Bool.random(using: &random) }),
                    teams: Set(teams.filter { _ in Bool.random(using: &random) })) : nil
            let requestKind: SeatRequest.Kind = Bool.random(using: &random) ? .login : .upload
            items.append(
                SeatActivation(target, claims: claims, actor: "actor\(i % 3)", at: t) {
                    try SeatRules.activate(
                        target, limit: 14, whenFull: whenFull, requestKind: requestKind, actor: "actor\(i % 3)", reason: "login", at: t,
                        facts: $0)
                })
        }
        return items
    }

    /// Activations that arrive while one is written wait and are written together; one that
    /// its rule refuses (a login joined to a person who does not exist) fails alone.
    @Test(arguments: Engine.allCases) func waitingActivationsAreWrittenTogether(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, seats: 50)
        let queue = gatehouse.activations
        let at = ts("2026-11-10T00:00:00Z")
        let release = DispatchSemaphore(value: 0)
        func job(_ i: Int, linkTo: String? = nil, hold: Bool = false) -> ActivationQueue.Job {
            let target = SeatTarget.newIdentity(
                NewIdentity(
                    ref: IdentityRef(provider: .github, username: "waiting\(i)"), externalID: nil, email: nil, linkTo: linkTo,
                    newPersonID: "p_waiting\(i)"))
            let activation = SeatActivation(target, claims: nil, actor: "test", at: at) {
                if hold { release.wait() }
                return try SeatRules.activate(target, limit: 50, actor: "test", reason: "login", at: at, facts: $0)
            }
            return ActivationQueue.Job(activation: activation) {
                try await gatehouse.store.activateSeat(target, claims: nil, actor: "test", at: at, rule: activation.rule)
            }
        }
        let store = gatehouse.store
        let first = Task { try await queue.submit(job(0, hold: true)) }
        #expect(try await eventually { queue.written.batches == 1 })
        let others = (1...9).map { i in
            Task { try await queue.submit(job(i, linkTo: i == 5 ? "p_missing" : nil)) }
        }
        #expect(try await eventually { queue.waiting == 9 })
        release.signal()
        #expect(try await first.value.outcome == .activated)
        for (i, task) in zip(1..., others) {
            switch await task.result {
            case .success(let result): #expect(i != 5 && result.outcome == .activated && result.person?.seat == .active)
            case .failure(let error): #expect(i == 5 && (error as? StoreError)?.code == .notFound, "\(error)")
            }
        }
        #expect(queue.written.batches == 2 && queue.written.largest == 9)
        #expect(try await store.activeSeatCount() == 9)
        #expect(try await gatehouse.verifyAudit().ok)
    }
}
