import Foundation
import GatehouseDomain

/// The answer to "may this connection leave?".
public struct EgressCheck: Sendable {
    public var target: EgressTarget?
    /// After the mode is applied: `report` and `open` allow what `enforce` would refuse.
    public var allow: Bool
    public var verdict: EgressVerdict
    public var mode: EgressPolicy.Mode
    /// The role whose rules applied, if not the top-level ones.
    public var role: String?
    /// The addresses the name resolved to (and the proxy would connect to).
    public var addresses: [IPAddress]

    public var json: JSONValue {
        var out: [String: JSONValue] = [
            "allow": .bool(allow), "reason": .string(verdict.reason.rawValue), "mode": .string(mode.rawValue),
        ]
        if let rule = verdict.rule { out["rule"] = .string(rule) }
        if !verdict.detail.isEmpty { out["detail"] = .string(verdict.detail) }
        if allow, !verdict.allow { out["would_refuse"] = .string(verdict.reason.rawValue) }
        if let target { out["destination"] = .string(target.description) }
        if let role { out["role"] = .string(role) }
        if !addresses.isEmpty { out["addresses"] = .array(addresses.map { .string($0.description) }) }
        return .object(out)
    }
}

extension Gatehouse {
    /// Judges a URL: parsed strictly, host normalised, matched against the rules, then resolved
    /// once with every address checked (no second resolution later: the proxy connects to
    /// these). Refusals are counted per reason with the destination kept among recent denials.
    /// `role` asks for a role's rules instead of the top-level ones.
    public func checkEgress(url: String, role: String? = nil) async throws -> EgressCheck {
        var policy = try await policyInEffect().egress
        if let role {
            guard let rolePolicy = policy.forRole(role) else {
                throw GatehouseError(.unknownRole, "the egress policy in force has no role \"\(role.prefix(100))\"")
            }
            policy = rolePolicy
        }
        switch EgressTarget.parse(url: url) {
        case .failure(let refusal):
            let check = EgressCheck(target: nil, allow: false, verdict: .deny(.destinationNotAllowed, refusal.message), mode: policy.mode, role: role, addresses: [])
            return finish(check, subject: EgressTarget.redacted(url))
        case .success(let target):
            return finish(await judge(target, policy: policy, role: role), subject: target.description)
        }
    }

    /// The proxy's question for a parsed destination, asked by a client at `source` (whose
    /// role, if any, applies): judged and, when refused, counted like `checkEgress(url:)`.
    public func checkEgress(_ target: EgressTarget, source: IPAddress?) async throws -> EgressCheck {
        let (policy, role) = try await policyInEffect().egress.forSource(source)
        return finish(await judge(target, policy: policy, role: role), subject: target.description)
    }

    /// What the proxy can answer at once, without resolving a name: an IP literal, or a name
    /// the rules refuse in enforce mode — from memory, no suspension. `nil`: ask
    /// `checkEgress(_:source:)`.
    public func checkEgressNow(_ target: EgressTarget, source: IPAddress?) -> EgressCheck? {
        guard let egress = live.read({ $0.loaded ? $0.policy.egress : nil }) else { return nil }
        let (policy, role) = egress.forSource(source)
        let verdict = EgressDecider.decide(host: target.host, port: target.port, policy: policy)
        return decidedBeforeResolving(target, verdict, policy: policy, role: role).map { finish($0, subject: target.description) }
    }

    /// Counts a refusal the proxy made before any rule was consulted (a Host header that names
    /// another destination than the request).
    public func countEgressRefusal(_ reason: DecisionReason, destination: String) {
        live.countEgressDenial(reason: reason, destination: destination, at: now())
    }

    /// The rules, then the addresses; the mode decides what a refusal means.
    private func judge(_ target: EgressTarget, policy: EgressPolicy, role: String?) async -> EgressCheck {
        var verdict = EgressDecider.decide(host: target.host, port: target.port, policy: policy)
        if let decided = decidedBeforeResolving(target, verdict, policy: policy, role: role) { return decided }
        guard case .name(let name) = target.host else { preconditionFailure("an IP literal is decided before resolving") }
        // Report and open modes connect whatever the rules say, so they resolve too.
        let addresses = await resolver.addresses(of: name)
        if verdict.allow, let refusal = EgressDecider.check(addresses: addresses, for: name, policy: policy) { verdict = refusal }
        return EgressCheck(target: target, allow: verdict.allow || policy.mode != .enforce, verdict: verdict, mode: policy.mode, role: role, addresses: addresses)
    }

    /// The check when nothing needs resolving: an IP literal (its address is the one to use),
    /// or a name refused by the rules in enforce mode.
    private func decidedBeforeResolving(_ target: EgressTarget, _ verdict: EgressVerdict, policy: EgressPolicy, role: String?) -> EgressCheck? {
        let allow = verdict.allow || policy.mode != .enforce
        switch target.host {
        case .ip(let address):
            return EgressCheck(target: target, allow: allow, verdict: verdict, mode: policy.mode, role: role, addresses: [address])
        case .name:
            return allow ? nil : EgressCheck(target: target, allow: false, verdict: verdict, mode: policy.mode, role: role, addresses: [])
        }
    }

    private func finish(_ check: EgressCheck, subject: String) -> EgressCheck {
        if !check.verdict.allow, check.mode != .open {
            live.countEgressDenial(reason: check.verdict.reason, destination: subject, at: now())
        }
        return check
    }
}
