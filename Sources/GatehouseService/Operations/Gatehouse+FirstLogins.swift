import Foundation
import GatehouseDomain
import GatehouseStorage

extension Gatehouse {
    /// Many logins at once, answered as `authorizeLogin` answers each, with the first logins
    /// among them — people never seen whom the rules would give a seat — written in one
    /// transaction (`activateSeats`): the same identity, seat and claims steps, audit entries
    /// and seat limit as one by one, a transaction per batch instead of per person. For
    /// loading a large population quickly (bench/seed-people); the rest go one by one.
    public func authorizeLogins(_ requests: [LoginRequest], actor: String) async throws -> [DecisionResult] {
        let t = now()
        try await ensureLoaded()
        var results = [DecisionResult?](repeating: nil, count: requests.count)
        var batch: [(target: SeatTarget, claims: MembershipClaims?)] = []
        var batched: [(index: Int, inputs: DecisionInputs, elseDeny: DecisionReason)] = []
        for (index, request) in requests.enumerated() {
            let inputs = loginInputs(request, at: t)
            guard inputs.identity == nil, inputs.update == nil, case .activateSeat(let elseDeny) = inputs.verdict else { continue }
            let new = newIdentity(request.identity, request.externalID, request.email, inputs.linkTo)
            batch.append((.newIdentity(new), request.claims(identityID: nil)))
            batched.append((index, inputs, elseDeny))
        }
        if !batch.isEmpty {
            let (limit, whenFull) = live.read { ($0.policy.seats.limit(licensed: $0.license?.seats ?? 0), $0.policy.seats.whenFull) }
            let activations = try await store.activateSeats(batch, actor: actor, at: t) { target, facts in
                try SeatRules.activate(
                    target, limit: limit, whenFull: whenFull, requestKind: .login, actor: actor, reason: "login", at: t, facts: facts)
            }
            for ((index, inputs, elseDeny), result) in zip(batched, activations) {
                remember(result)
                if let person = result.person, result.outcome == .activated || result.outcome == .alreadyActive {
                    live.noteSeen(person.id, at: t)
                    results[index] = DecisionResult(allow: true, reason: .ok, personID: person.id, seat: .active, role: inputs.role)
                } else {
                    results[index] = deny(
                        kind: "login", refusal(result.outcome, elseDeny), inputs, subject: requests[index].identity, at: t)
                }
            }
        }
        for index in requests.indices where results[index] == nil {
            results[index] = try await authorizeLogin(requests[index], actor: actor)
        }
        return results.map { $0! }
    }
}
