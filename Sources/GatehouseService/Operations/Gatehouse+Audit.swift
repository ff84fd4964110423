import GatehouseDomain
import GatehouseStorage

extension Gatehouse {
    public func auditEntries(_ query: AuditQuery) async throws -> [AuditEntry] {
        try await store.auditEntries(query)
    }

    /// Recomputes the whole hash chain and names the first broken entry.
    public func verifyAudit() async throws -> AuditVerifyReport {
        let verifier = try await store.verifyAudit()
        return AuditVerifyReport(ok: verifier.ok, entries: verifier.entries, firstBroken: verifier.firstBroken, problem: verifier.problem)
    }

    /// Whether the database answers, and the license state, for `/readyz`.
    public func readiness() async -> (ready: Bool, json: JSONValue) {
        do {
            try await store.ping()
            let status = try await licenseStatus()
            // A stale directory is reported, never a reason to stop serving (fail-static).
            let directory = try await directoryStatus()
            return (true, ["status": "ready", "database": "ok", "license": .string(status.state.rawValue), "directory": directory.json])
        } catch {
            let message = GatehouseError.from(error)?.message ?? "database check failed"
            return (false, ["status": "not_ready", "database": .string(message)])
        }
    }
}
