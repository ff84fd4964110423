import Foundation
import GatehouseDomain
import GatehouseStorage

extension Gatehouse {
    /// Applies the policy files of `directory` as one versioned set (audited with its hash).
    public func applyPolicies(directory: String, actor: String) async throws -> PolicyLoader.Result {
        try await apply(PolicyLoader.load(directory: directory), actor: actor)
    }

    /// Applies policy files given as name → text (the console's upload) as one versioned set.
    public func applyPolicies(files: [String: String], actor: String) async throws -> PolicyLoader.Result {
        try await apply(PolicyLoader.parse(files: files), actor: actor)
    }

    /// The set in force as stored: its files, hash, and when and by whom it was applied.
    public func policySetInForce() async throws -> StoredPolicySet? { try await store.policySetInForce() }

    private func apply(_ result: PolicyLoader.Result, actor: String) async throws -> PolicyLoader.Result {
        guard result.policy != nil else {
            throw GatehouseError(.invalidPolicy, "policy refused: " + result.problems.joined(separator: "; "))
        }
        let t = now()
        if try await store.policySetInForce()?.sha256 == result.sha256 { return result }
        try await store.applyPolicySet(
            StoredPolicySet(sha256: result.sha256, files: result.files, appliedAt: t, appliedBy: actor),
            audit: AuditDraft(
                actor: actor, action: "policy.apply", subject: String(result.sha256.prefix(12)),
                details: [
                    "sha256": .string(result.sha256), "files": .array(result.files.keys.sorted().map(JSONValue.string)),
                ]))
        try await refresh()
        return result
    }

    /// The policy in force, with when and by whom it was applied.
    public func policyInForce() async throws -> JSONValue {
        try await ensureLoaded()
        let stored = try await store.policySetInForce()
        return [
            "sha256": .optional(stored?.sha256), "applied_at": .optional(stored.map { UTC.format($0.appliedAt) }),
            "applied_by": .optional(stored?.appliedBy), "files": .array((stored?.files.keys.sorted() ?? []).map(JSONValue.string)),
            "policy": live.read { $0.policy.json }, "defaults": .bool(stored == nil),
        ]
    }
}
