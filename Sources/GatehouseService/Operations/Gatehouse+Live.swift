import Foundation
import GatehouseDomain
import GatehouseStorage

extension Gatehouse {
    /// Loads everything decisions need into memory in one go.
    public func refresh() async throws {
        // What this process commits while everything is read is applied to the memory this
        // replaces: kept, and applied again to the new snapshot, which may predate it (a
        // session just started would be lost until the next sync, its browser sent back to
        // sign in).
        let recording = live.beginRecording()
        defer { live.endRecording(recording) }
        // Indexed as the rows are read, a part at a time.
        let loader = PeopleLoader()
        let index = loader.finish(auditSeq: try await store.loadPeople { loader.take($0) })
        let license = try await store.licenseInForce()
        let verification = license.map { LicenseVerifier.verify($0.fileText, trusted: trustedKeys, instanceHost: instanceHost) }
        let latestSeen = try await store.latestSeen()
        let policy = Self.policy(from: try await store.policySetInForce())
        let tokens = try await store.tokens()
        let next = LiveSnapshot(
            index: index, license: license, verification: verification, latestSeen: latestSeen, policy: policy,
            tokens: Dictionary(tokens.map { ($0.hash, $0) }, uniquingKeysWith: { a, _ in a }), loaded: true)
        // This process's writes up to the read are in it, and the later ones in memory now
        // (applied again, or still to be applied): the next sync need not read those back.
        // Not after a first load: a write that reloads instead (a license, a directory sync)
        // does not reload memory that is not loaded yet, so its entries are read back.
        live.install(recording: recording, { $0 = next }) { wasLoaded in
            if wasLoaded { store.writeLog.forget(through: index.auditSeq) } else { store.writeLog.clear() }
        }
        // Loading freed as much as it kept (rows read, the index it replaced): hand it back.
        MemoryRelease.returnFreedMemory()
    }

    /// The rules of a stored policy set; the built-in defaults when none has been applied.
    static func policy(from stored: StoredPolicySet?) -> PolicySet {
        stored.flatMap { PolicyLoader.parse(files: $0.files).policy } ?? PolicySet()
    }

    /// How many people memory holds (for the log line after a load).
    public var peopleInMemory: Int { live.read { $0.index.personCount } }

    /// The policy set in force: from memory when this process serves decisions; otherwise read
    /// on its own, so that a one-off command does not load everyone into memory for it.
    func policyInEffect() async throws -> PolicySet {
        if live.isLoaded { return live.read { $0.policy } }
        return Self.policy(from: try await store.policySetInForce())
    }

    func ensureLoaded() async throws {
        if !live.isLoaded { try await refresh() }
    }

    /// Catches up when any process (a CLI command, another replica) changed state: every
    /// change moves the audit head. Returns whether it read anything.
    @discardableResult
    public func syncIfChanged() async throws -> Bool {
        forgetEndedSessions()
        let head = try await store.auditHeadSeq()
        // Read without copying the snapshot: a copy held while a delta is applied would
        // make the delta copy every table.
        let (known, loaded, people) = live.read { ($0.index.auditSeq, $0.loaded, $0.index.personCount) }
        guard head != known || !loaded else { return false }
        // Changes made by this process are already in memory: no reload for those.
        if loaded, head > known, store.writeLog.consume((known + 1)...head) {
            live.update { $0.index.advance(to: head) }
            return false
        }
        // First logins, seats and memberships changed elsewhere (another replica's traffic):
        // only the people concerned are read again, not everyone.
        if loaded, head > known {
            // As for a reload: what this process commits while the rows are read is applied
            // over them again (they may predate it), and the next sync need not read it back.
            let recording = live.beginRecording()
            defer { live.endRecording(recording) }
            if let changes = try await store.peopleChanges(after: known, limit: Self.changesReadPersonByPerson(among: people)) {
                live.install(recording: recording, { $0.index.apply(changes) })
                store.writeLog.forget(through: changes.auditSeq)
                return true
            }
        }
        try await refresh()
        return true
    }

    /// Beyond this many audit entries to catch up on, reloading everything is simpler: 2,000,
    /// or a twentieth of the people held (a reload of a million people takes seconds; the
    /// changes of a batch of 5,000 first logins, ~25,000 entries, are read in a fraction).
    static func changesReadPersonByPerson(among people: Int) -> Int { max(2_000, people / 20) }

    /// Writes buffered last-seen times and denial counts; on failure they are kept for the next try.
    public func flushBookkeeping() async throws {
        let seen = live.takeLastSeen(), denials = live.takeDenials(), sessionsSeen = live.takeSessionSeen()
        do {
            try await store.touchLastSeen(seen)
            try await store.addDenials(denials, keep: LiveState.keptDenials)
            // A thousand at a time: every decision waits while the write lock is held, and a
            // busy five seconds at 100,000 people sees tens of thousands of them.
            var pending = seen[...]
            while !pending.isEmpty {
                let chunk = pending.prefix(1000)
                pending = pending.dropFirst(chunk.count)
                live.update { for (id, t) in chunk { $0.index.setLastSeen(id, t) } }
            }
        } catch {
            live.restore(lastSeen: seen, denials: denials)
            live.restoreSessionSeen(sessionsSeen)
            throw error
        }
        do { try await store.touchSessions(sessionsSeen) } catch {
            live.restoreSessionSeen(sessionsSeen)
            throw error
        }
    }

    /// Applies a committed change of people to memory: the one place a seat, status or
    /// identity change made by this process reaches the live snapshot.
    func commit(_ committed: CommittedPeoplePlan) {
        guard committed.changed else { return }
        // Asked inside: a first load reading meanwhile gets the change once it is loaded.
        live.apply { if $0.loaded { $0.index.apply(committed) } }
    }

    /// Applies the result of a seat activation to memory: the committed plan, then the
    /// person and identity as stored (which also teaches memory what another process created).
    func remember(_ result: ActivationResult) {
        if let committed = result.committed { commit(committed) }
        live.apply { snapshot in
            if let identity = result.identity { snapshot.index.upsert(identity) }
            if let person = result.person { snapshot.index.upsert(person) }
            if let claims = result.claimsRecorded {
                snapshot.index.setMemberships(claims.identityID, source: claims.source, claims.memberships)
            }
        }
    }

    /// Whether this replica runs the periodic job `job` now. With several replicas on one
    /// database one runs it at a time: the lease lasts two intervals (and 5 s), so the holder
    /// keeps it by running, and a holder that stops passes it on once the lease runs out.
    public func claimJob(_ job: String, every interval: Duration) async throws -> Bool {
        let now = now()
        let lease = Double(interval.components.seconds) * 2 + 5
        return try await store.claimJob(job, holder: replicaID, until: now.addingTimeInterval(lease), at: now)
    }
}
