import Foundation
import GatehouseDomain
import Testing

/// The seat and identity rules are pure: facts in, a plan out. (Their execution against both
/// engines is `StoreConformanceTests`.)
@Suite("Seat rules")
struct SeatRulesTests {
    /// Facts as plain values: what a transaction would have read.
    struct Facts: PeopleFacts {
        var persons: [String: PersonRecord] = [:]
        var identities: [IdentityRecord] = []
        var active: Int64 = 0
        func person(_ id: String) throws -> PersonRecord? { persons[id] }
        func identity(_ ref: IdentityRef) throws -> IdentityRecord? { identities.first { $0.ref.key == ref.key } }
        func identityCount(of personID: String) throws -> Int { identities.filter { $0.personID == personID }.count }
        func activeSeats() throws -> Int64 { active }
        var held: [Int64: Set<MembershipRecord>] = [:]
        var requests: [SeatRequest] = []
        func pendingRequests(limit: Int) throws -> [SeatRequest] { Array(requests.prefix(limit)) }
        func pendingRequest(of personID: String) throws -> SeatRequest? { requests.first { $0.personID == personID } }
        func seatedPeople(notSeenSince time: Date) throws -> [PersonRecord] {
            persons.values.filter { $0.seat == .active && ($0.lastSeenAt ?? $0.createdAt) < time }.sorted { $0.id < $1.id }
        }
        func memberships(of identityID: Int64, source: MembershipSource) throws -> Set<MembershipRecord> {
            (held[identityID] ?? []).filter { $0.source == source }
        }
    }

    static let t = ts("2026-11-10T00:00:00Z")

    static func person(_ id: String, seat: SeatState = .none, status: PersonStatus = .active) -> PersonRecord {
        PersonRecord(id: id, name: id, email: nil, role: .user, status: status, seat: seat, lastSeenAt: nil, createdAt: t)
    }

    static func new(_ identity: String, linkTo: String? = nil) -> NewIdentity {
        NewIdentity(ref: IdentityRef.parse(identity)!, externalID: nil, email: nil, linkTo: linkTo, newPersonID: "p_new")
    }

    func actions(_ plan: PeoplePlan) -> [String] {
        plan.steps.map {
            switch $0 {
            case .audit(let draft): draft.action
            case .createPerson: "+person"
            case .createIdentity: "+identity"
            case .moveIdentity: "move"
            case .renameIdentity(_, let username, _): "rename → \(username)"
            case .deleteIdentity: "-identity"
            case .setSeat(_, let active, let after, _, _): "seat \(active ? "on" : "off") → \(after)"
            case .setStatus(_, let status): "status \(status.rawValue)"
            case .replaceMemberships(_, let source, let set): "memberships \(source.rawValue) \(set.map(\.name).sorted())"
            case .fileSeatRequest(let request): "request \(request.personID)"
            case .removeSeatRequest(let id): "drop request \(id)"
            case .endSessions: "end sessions"
            }
        }
    }

    @Test func aFirstLoginUnderTheLimitCreatesThePersonAndTakesASeat() throws {
        let plan = try SeatRules.activate(
            .newIdentity(Self.new("github:alice")), limit: 2, actor: "t", reason: "login", at: Self.t, facts: Facts(active: 1))
        #expect(plan.activation == .activated)
        #expect(actions(plan) == ["+person", "person.create", "+identity", "identity.create", "seat on → 2", "seat.activate"])
    }

    @Test func aFullHouseOrAnIneligiblePersonWritesNothing() throws {
        let full = try SeatRules.activate(
            .newIdentity(Self.new("github:alice")), limit: 2, actor: "t", reason: "login", at: Self.t, facts: Facts(active: 2))
        #expect(full.activation == .noSeatAvailable && full.isEmpty)
        let blocked = Facts(persons: ["p1": Self.person("p1", status: .blocked)])
        let refused = try SeatRules.activate(.person("p1"), limit: 10, actor: "t", reason: "login", at: Self.t, facts: blocked)
        #expect(refused.activation == .ineligible(.blocked) && refused.isEmpty)
    }

    @Test func aSecondIdentityOfASeatedPersonTakesNoSecondSeat() throws {
        let facts = Facts(persons: ["p1": Self.person("p1", seat: .active)], active: 5)
        let plan = try SeatRules.activate(
            .newIdentity(Self.new("gitlab:alice", linkTo: "p1")), limit: 5, actor: "t", reason: "login", at: Self.t, facts: facts)
        #expect(plan.activation == .alreadyActive)
        #expect(actions(plan) == ["+identity", "identity.create"])
    }

    @Test func movingAPersonsLastIdentityAwayGivesTheirSeatBack() throws {
        let alice = IdentityRecord(id: 1, ref: IdentityRef.parse("github:alice")!, externalID: nil, email: nil, personID: "p1")
        let facts = Facts(
            persons: ["p1": Self.person("p1", seat: .active), "p2": Self.person("p2", seat: .active)], identities: [alice], active: 2)
        let plan = try SeatRules.link(alice.ref, to: "p2", actor: "t", facts: facts)
        #expect(actions(plan) == ["move", "identity.link", "seat off → 1", "end sessions", "seat.deactivate"])
        // An identity left to someone who has another keeps their seat.
        var two = facts
        two.identities.append(IdentityRecord(id: 2, ref: IdentityRef.parse("gitlab:alice")!, externalID: nil, email: nil, personID: "p1"))
        #expect(actions(try SeatRules.link(alice.ref, to: "p2", actor: "t", facts: two)) == ["move", "identity.link"])
    }

    @Test func aRecycledUsernameIsMovedAsideBeforeTheNewcomerTakesIt() throws {
        let old = IdentityRecord(id: 1, ref: IdentityRef.parse("github:sam")!, externalID: "11", email: nil, personID: "p1")
        let renamed = IdentityRecord(id: 2, ref: IdentityRef.parse("github:samuel")!, externalID: "22", email: nil, personID: "p2")
        let facts = Facts(persons: ["p1": Self.person("p1"), "p2": Self.person("p2")], identities: [old, renamed])
        let plan = try SeatRules.rename(
            [(old.ref, IdentityRef.movedAsideUsername("sam", externalID: "11"), "11"), (renamed.ref, "sam", "22")], actor: "t", facts: facts
        )
        #expect(actions(plan) == ["rename → sam~11", "identity.update", "rename → sam", "identity.update"])
        #expect(throws: PeopleRuleError.self) {
            try SeatRules.rename([(IdentityRef.parse("github:ghost")!, "x", nil)], actor: "t", facts: facts)
        }
    }

    @Test func membershipsAreReplacedOnlyWhenTheyChange() throws {
        let acme = MembershipRecord(identityID: 1, kind: .org, name: "acme", source: .signin)
        let labs = MembershipRecord(identityID: 1, kind: .org, name: "labs", source: .signin)
        let facts = Facts(held: [1: [acme, MembershipRecord(identityID: 1, kind: .org, name: "other", source: .request)]])
        #expect(try SeatRules.replaceMemberships(identityID: 1, source: .signin, with: [acme], actor: "t", facts: facts).isEmpty)
        let plan = try SeatRules.replaceMemberships(identityID: 1, source: .signin, with: [acme, labs], actor: "t", facts: facts)
        #expect(actions(plan) == ["memberships signin [\"acme\", \"labs\"]", "membership.update"])
    }

    @Test func aFullHouseFilesOneRequestAndAFreedSeatGoesToTheOldest() throws {
        var facts = Facts(persons: ["p1": Self.person("p1", seat: .active)], active: 1)
        let plan = try SeatRules.activate(
            .newIdentity(Self.new("github:bob")), limit: 1, whenFull: .request, actor: "t", reason: "login", at: Self.t, facts: facts)
        #expect(plan.activation == .requested)
        #expect(actions(plan) == ["+person", "person.create", "+identity", "identity.create", "request p_new", "seat.request"])
        facts.persons["p2"] = Self.person("p2")
        facts.persons["p3"] = Self.person("p3", status: .blocked)
        facts.persons["p4"] = Self.person("p4")
        facts.requests = [
            SeatRequest(personID: "p3", identity: "github:c", kind: .login, requestedAt: Self.t),
            SeatRequest(personID: "p2", identity: "github:b", kind: .login, requestedAt: Self.t.addingTimeInterval(1)),
            SeatRequest(personID: "p4", identity: "github:d", kind: .login, requestedAt: Self.t.addingTimeInterval(2)),
        ]
        // Asking again while a request is pending files nothing more.
        let again = try SeatRules.activate(.person("p2"), limit: 1, whenFull: .request, actor: "t", reason: "login", at: Self.t, facts: facts)
        #expect(again.activation == .requested && again.isEmpty)
        // p1's seat freed: the blocked p3's request is dropped, the next oldest (p2) is granted, p4 waits.
        let released = try SeatRules.release(personID: "p1", actor: "t", reason: "r", grant: SeatGrant(limit: 1), facts: facts)
        #expect(
            actions(released) == [
                "seat off → 0", "end sessions", "seat.deactivate", "drop request p3", "drop request p2", "seat on → 1", "seat.activate",
            ])
    }

    @Test func blockingEndsSessionsSeatOrNoSeat() throws {
        let seated = Facts(persons: ["p1": Self.person("p1", seat: .active)], active: 3)
        #expect(
            actions(try SeatRules.setStatus(personID: "p1", to: .blocked, actor: "t", reason: "r", facts: seated))
                == ["seat off → 2", "end sessions", "seat.deactivate", "status blocked", "person.status"])
        let unseated = Facts(persons: ["p1": Self.person("p1")])
        #expect(
            actions(try SeatRules.setStatus(personID: "p1", to: .blocked, actor: "t", reason: "r", facts: unseated))
                == ["end sessions", "status blocked", "person.status"])
        #expect(try SeatRules.setStatus(personID: "p1", to: .active, actor: "t", reason: "r", facts: unseated).isEmpty)
        #expect(throws: PeopleRuleError.self) {
            try SeatRules.setStatus(personID: "nobody", to: .blocked, actor: "t", reason: "r", facts: unseated)
        }
    }
}
