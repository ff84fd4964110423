import Foundation
import GatehouseDirectory
import GatehouseDomain
import GatehouseStorage

/// The result of one directory sync (or of a dry run: the same plan, not applied).
public struct DirectorySyncOutcome: Sendable {
    public var plan: DirectoryPlan
    public var dryRun: Bool
    public var readSeconds: Double
    public var applySeconds: Double

    public var json: JSONValue {
        func list(_ items: [String]) -> JSONValue { .array(items.map { .string($0) }) }
        return [
            "dry_run": .bool(dryRun), "people": .int(Int64(plan.directoryPeople)), "groups": .int(Int64(plan.directoryGroups)),
            "added": list(plan.added.map { "ldap:" + $0.person.uid }),
            "updated": .array(plan.updated.map { ["identity": .string("ldap:" + $0.person.uid), "changes": list($0.changes)] }),
            "left": list(plan.left.map { "ldap:" + $0.uid }),
            "memberships": .array(
                plan.memberships.map {
                    ["identity": .string("ldap:" + $0.uid), "added": list($0.added.sorted()), "removed": list($0.removed.sorted())]
                }),
            "warnings": list(plan.warnings), "refused": .optional(plan.refusal),
            "stable_id_changes": .int(Int64(plan.stableIDChanges)), "rekey": .bool(plan.rekey),
            "read_ms": .milliseconds(readSeconds), "apply_ms": .milliseconds(applySeconds),
        ]
    }

    /// Lines of each kind of change listed before the rest are only counted: a first sync
    /// adds the whole directory, and a hundred thousand lines tell an administrator less than
    /// the count does (`--json` lists every one).
    public static let listedPerKind = 100

    static func listed<T>(_ items: [T], _ what: String, _ line: (T) -> String) -> [String] {
        var out = items.prefix(listedPerKind).map(line)
        if items.count > listedPerKind { out.append("  … and \(items.count - listedPerKind) more \(what) (--json lists every one)") }
        return out
    }

    /// The plan for people: what is added, updated, leaves, and whose groups change.
    public var lines: [String] {
        var out = [
            "\(dryRun ? "plan (dry run, nothing changed)" : "synced"): \(plan.directoryPeople) people and \(plan.directoryGroups) groups in the directory "
                + "(read \(String(format: "%.2f", readSeconds)) s\(dryRun ? "" : ", applied \(String(format: "%.2f", applySeconds)) s"))"
        ]
        out += Self.listed(plan.added, "added") { "  + ldap:\($0.person.uid)\($0.person.email.map { " <\($0)>" } ?? "")" }
        out += Self.listed(plan.updated, "updated") { "  ~ ldap:\($0.person.uid) (\($0.changes.joined(separator: ", ")))" }
        out += Self.listed(plan.left, "left") { "  - ldap:\($0.uid) left the directory: no login, seat released" }
        out += Self.listed(plan.memberships, "membership changes") { change in
            "  groups ldap:\(change.uid): " + (change.added.sorted().map { "+" + $0 } + change.removed.sorted().map { "-" + $0 }).joined(separator: " ")
        }
        out += Self.listed(plan.warnings, "warnings") { "  warning: \($0)" }
        if plan.stableIDChanges > 0 {
            out.append(
                plan.rekey
                    ? "  \(plan.stableIDChanges) people re-keyed: same uid, new stable id (entryUUID); people, seats and history kept"
                    : "  \(plan.stableIDChanges) uid\(plan.stableIDChanges == 1 ? "" : "s") back under a new stable id: taken as someone new (a recycled uid)")
        }
        out.append(
            "\(plan.added.count) added, \(plan.updated.count) updated, \(plan.left.count) left, \(plan.memberships.count) membership change\(plan.memberships.count == 1 ? "" : "s")"
        )
        return out
    }
}

/// How current Gatehouse's copy of the directory is.
public struct DirectoryStatus: Sendable {
    public enum State: String, Sendable { case notConfigured = "not_configured", neverSynced = "never_synced", fresh, stale }
    public var state: State
    public var sync: DirectorySyncState?

    public var json: JSONValue {
        [
            "state": .string(state.rawValue), "last_success_at": .optional(sync?.lastSuccessAt.map { UTC.format($0) }),
            "last_attempt_at": .optional(sync.map { UTC.format($0.lastAttemptAt) }), "last_error": .optional(sync?.lastError),
            "people": .int(sync?.people ?? 0), "groups": .int(sync?.groups ?? 0),
        ]
    }

    public var line: String {
        switch state {
        case .notConfigured: return "directory: not configured"
        case .neverSynced: return "directory: never synced" + (sync?.lastError.map { " (last attempt failed: \($0))" } ?? "")
        case .fresh, .stale:
            var text = "directory: \(state.rawValue), last good sync \(sync?.lastSuccessAt.map { UTC.format($0) } ?? "never")"
            text += " (\(sync?.people ?? 0) people, \(sync?.groups ?? 0) groups)"
            if let error = sync?.lastError { text += "; last attempt failed: \(error)" }
            return text
        }
    }
}

/// What `gatehouse ldap test` found.
public struct DirectoryTestReport: Sendable {
    public var probe: DirectoryProbe?
    public var error: GatehouseError?
    public var lookup: [DirectoryPerson]?
    public var status: DirectoryStatus

    public var json: JSONValue {
        var out: [String: JSONValue] = ["ok": .bool(error == nil), "directory": status.json]
        if let probe {
            out["bind_ms"] = .milliseconds(probe.bindSeconds)
            out["people"] = .int(Int64(probe.people))
            out["people_ms"] = .milliseconds(probe.peopleSeconds)
            out["groups"] = .int(Int64(probe.groups))
            out["groups_ms"] = .milliseconds(probe.groupsSeconds)
        }
        if let error { out["error"] = ["code": .string(error.code), "message": .string(error.message)] }
        if let lookup {
            out["lookup"] = .array(lookup.map { ["dn": .string($0.dn), "uid": .string($0.uid), "email": .optional($0.email)] })
        }
        return .object(out)
    }
}

extension Gatehouse {
    /// Reads the whole directory and applies what changed, in one transaction (SPEC 2, issue 4):
    /// people and their `ldap:` identities, groups (nested resolved), identity links by
    /// policy; people gone from the directory become `left_directory` and lose their seat.
    ///
    /// Fail-static: when the directory cannot be read, or answers with far fewer people than
    /// before (more than `max_removal_percent` would leave), nothing changes — decisions go on
    /// from the last good sync — and the failure is recorded for `readyz` and `ldap test`.
    /// When those departures are people back under their uid with a new stable id (the
    /// directory restored into a new server), the refusal says so; `rekey` adopts the new ids
    /// and keeps the people, their seats and history (audited `directory.rekey`).
    public func syncDirectory(
        dryRun: Bool = false, force: Bool = false, rekey: Bool = false, actor: String, progress: @escaping @Sendable (DirectoryProgress) -> Void = { _ in }
    ) async throws -> DirectorySyncOutcome {
        let (directory, settings) = try requireDirectory()
        let clock = ContinuousClock()
        let started = clock.now
        // What is stored is read while the directory answers; the store rereads it inside the
        // write if anything changed meanwhile.
        async let prefetch = store.directoryPeople()
        let listing: DirectoryListing
        do {
            listing = try await directory.read(progress: progress)
        } catch {
            _ = try? await prefetch
            let failure = Self.directoryFailure(error)
            if !dryRun { try? await store.recordDirectoryFailure(failure.message, refused: false, at: now()) }
            throw failure
        }
        let readTime = clock.now - started
        let identity = try await policyInEffect().identity
        let t = now()
        let maxPercent = settings.maxRemovalPercent
        let decide: @Sendable ([StoredDirectoryPerson]) -> DirectoryPlan = { stored in
            var plan = DirectoryPlanner.plan(listing, stored: stored, identity: identity, rekey: rekey)
            if !force { plan.refusal = plan.removalRefusal(maxPercent: maxPercent) }
            var rng = SystemRandomNumberGenerator()
            for i in plan.added.indices { plan.added[i].newPersonID = PersonID.make(at: t, using: &rng) }
            return plan
        }
        let plan: DirectoryPlan
        let prefetched = try await prefetch
        if dryRun {
            plan = decide(prefetched.people)
        } else {
            plan = try await store.applyDirectorySync(prefetched: prefetched, actor: actor, at: t, decide)
            if let refusal = plan.refusal {
                try? await store.recordDirectoryFailure(refusal, refused: true, at: t)
                throw GatehouseError(.directoryRemovalRefused, refusal)
            }
            if !plan.isEmpty, live.isLoaded { try await refresh() }
        }
        return DirectorySyncOutcome(plan: plan, dryRun: dryRun, readSeconds: readTime.seconds, applySeconds: (clock.now - started - readTime).seconds)
    }

    /// Binds, counts people and groups with timings, optionally looks one uid up, and says how
    /// current the last sync is. A failure is reported in the result (with the status), not thrown.
    public func testDirectory(uid: String? = nil) async throws -> DirectoryTestReport {
        let (directory, _) = try requireDirectory()
        var report = DirectoryTestReport(status: try await directoryStatus())
        do {
            report.probe = try await directory.probe()
            if let uid { report.lookup = try await directory.people(uid: uid) }
        } catch {
            report.error = Self.directoryFailure(error)
        }
        return report
    }

    /// Fresh, stale (the last attempt failed, or no good sync for two intervals), never synced.
    public func directoryStatus() async throws -> DirectoryStatus {
        guard let settings = directorySettings else { return DirectoryStatus(state: .notConfigured, sync: nil) }
        let sync = try await store.directorySyncState()
        guard let success = sync?.lastSuccessAt else { return DirectoryStatus(state: .neverSynced, sync: sync) }
        let stale = sync?.lastError != nil || now().timeIntervalSince(success) > 2 * settings.syncInterval
        return DirectoryStatus(state: stale ? .stale : .fresh, sync: sync)
    }

    func requireDirectory() throws(GatehouseError) -> (any DirectoryClient, DirectoryConfiguration) {
        guard let directory, let directorySettings else {
            throw GatehouseError(.directory(.notConfigured), "no directory is configured: add an `ldap:` section to gatehouse.yml")
        }
        return (directory, directorySettings)
    }

    static func directoryFailure(_ error: any Error) -> GatehouseError {
        if let error = error as? DirectoryError {
            return GatehouseError(.directory(error.code), error.message + "; nothing changed, decisions continue from the last good sync")
        }
        return GatehouseError.from(error) ?? GatehouseError(.directoryFailed, "reading the directory failed: \(error)")
    }
}

extension JSONValue {
    /// Seconds as whole milliseconds (JSON here carries integers, never floating point).
    static func milliseconds(_ seconds: Double) -> JSONValue { .int(Int64((seconds * 1000).rounded())) }
}
