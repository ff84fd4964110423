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
    /// - Parameter detailed: for an authenticated caller: the directory's last error and
    ///   counts (which name the bind DN and the server); anyone else learns only its state.
    public func readiness(detailed: Bool = false) async -> (ready: Bool, json: JSONValue) {
        do {
            try await store.ping()
        } catch {
            let message = GatehouseError.from(error)?.message ?? "database check failed"
            return (false, ["status": "not_ready", "database": .string(message)])
        }
        do {
            try await store.probeWrite(at: now())
        } catch {
            // Reads alone would let decisions go on while every change of state fails.
            let message = GatehouseError.from(error)?.message ?? "database write failed"
            return (false, ["status": "not_ready", "database": .string("the database answers reads but refuses writes: \(message)")])
        }
        do {
            let status = try await licenseStatus()
            // A stale directory is reported, never a reason to stop serving (fail-static).
            let directory = try await directoryStatus()
            let directoryJSON: JSONValue = detailed ? directory.json : ["state": .string(directory.state.rawValue)]
            return (true, ["status": "ready", "database": "ok", "license": .string(status.state.rawValue), "directory": directoryJSON])
        } catch {
            let message = GatehouseError.from(error)?.message ?? "database check failed"
            return (false, ["status": "not_ready", "database": .string(message)])
        }
    }
}
