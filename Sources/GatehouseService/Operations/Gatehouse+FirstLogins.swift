import Foundation
import GatehouseDomain
import GatehouseStorage

extension Gatehouse {
    /// Many logins at once, answered as `authorizeLogin` answers each, with the first logins
    /// among them — people never seen whom the rules would give a seat — written in one
    /// transaction (`activateSeats`): the same identity, seat and claims steps, audit entries
    /// and seat limit as one by one, a transaction per batch instead of per person. For
    /// loading a large population quickly (bench/seed-people); the rest go one by one. A batch
    /// is one transaction: when another replica creates one of its identities meanwhile, the
    /// batch fails whole (nothing written) and may be sent again.
    public func authorizeLogins(_ requests: [LoginRequest], actor: String) async throws -> [DecisionResult] {
        let t = now()
        try await ensureLoaded()
        var results = [DecisionResult?](repeating: nil, count: requests.count)
        var batch: [SeatActivation] = []
        var batched: [(index: Int, inputs: DecisionInputs, elseDeny: DecisionReason)] = []
        for (index, request) in requests.enumerated() {
            let inputs = loginInputs(request, at: t)
            guard inputs.identity == nil, inputs.update == nil, case .activateSeat(let elseDeny) = inputs.verdict else { continue }
            let target = SeatTarget.newIdentity(newIdentity(request.identity, request.externalID, request.email, inputs.linkTo))
            // The request's claims are recorded with the seat, as for a single first login.
            batch.append(
                seatActivation(
                    target, claims: inputs.claimsChanged ? request.claims(identityID: nil) : nil, actor: actor, reason: "login", at: t,
                    requestKind: .login))
            batched.append((index, inputs, elseDeny))
        }
        if !batch.isEmpty {
            let activations = try await store.activateSeats(batch)
            for ((index, inputs, elseDeny), result) in zip(batched, activations) {
                remember(result)
                results[index] = loginAnswer(result, inputs, elseDeny: elseDeny, subject: requests[index].identity, at: t)
            }
        }
        for index in requests.indices where results[index] == nil {
            results[index] = try await authorizeLogin(requests[index], actor: actor)
        }
        return results.map { $0! }
    }
}
