import Foundation
import GatehouseDomain
import GatehouseStorage
import Synchronization

/// The state decisions are answered from, kept in memory and swapped whole on reload.
struct LiveSnapshot: Sendable {
    var index = PeopleIndex()
    var license: StoredLicense?
    var verification: LicenseVerification?
    var latestSeen: Date?
    var policy = PolicySet()
    var tokens: [String: TokenRecord] = [:]
    var loaded = false
}

/// Memory shared by every request: the snapshot, plus bookkeeping (last-seen times and
/// denial counts) buffered for batched writes.
final class LiveState: Sendable {
    let snapshot = ReadWriteLock(LiveSnapshot())
    /// Striped, so that concurrent requests rarely wait for one another to note a login.
    let lastSeenStripes = (0..<16).map { _ in Locked([String: Date]()) }
    /// Gate sessions' last-seen times (by session id) not yet written; noted once a minute per session.
    let sessionSeen = Mutex([String: Date]())
    let denials = Mutex([DenialKey: Int64]())
    /// Egress refusals per destination, bounded: past `keptDestinations` distinct keys a
    /// flood of new names is counted as other destinations.
    let egressDenials = Mutex([EgressDenialKey: Int64]())
    static let keptDestinations = 10_000
    /// The newest individual denials not yet written, bounded: a flood keeps only the latest.
    let recentDenials = Mutex([DenialEntry]())
    static let keptDenials = 1000
    /// The changes of this process applied while each running reload reads (`apply`). Taken
    /// inside the snapshot's lock, after it, so that a change is either in the old snapshot
    /// and kept, or made to the new one.
    private let recordings = Mutex(Recordings())
    private struct Recordings {
        var next = 0
        var changes: [Int: [@Sendable (inout LiveSnapshot) -> Void]] = [:]
    }

    /// Reads without copying the snapshot, in parallel with other readers: the decision path
    /// uses this once per request.
    func read<T>(_ body: (borrowing LiveSnapshot) throws -> T) rethrows -> T {
        try snapshot.read { try body($0) }
    }

    /// Reads through a pointer (see `ReadWriteLock.withPointer`): for the checks every request
    /// makes before deciding, and the decision's own inputs (`loginInputs`, `uploadInputs`).
    func peek<T>(_ body: (UnsafePointer<LiveSnapshot>) throws -> T) rethrows -> T { try snapshot.withPointer(body) }

    var isLoaded: Bool { peek { $0.pointee.loaded } }

    /// Changes memory without keeping the change for a running reload: for bookkeeping
    /// (last-seen times) and for what a sync read from the database. A change this process
    /// committed goes through `apply`, or a reload reading meanwhile would lose it.
    func update(_ body: (inout LiveSnapshot) -> Void) { snapshot.write { body(&$0) } }

    /// Applies to memory a change this process committed (or read back from the database
    /// after a conflict). While a reload reads, the change is also kept for it: the snapshot it
    /// installs may have been read before the commit, and gets the change again (`install`).
    func apply(_ change: @escaping @Sendable (inout LiveSnapshot) -> Void) {
        snapshot.write { snapshot in
            change(&snapshot)
            recordings.withLock { for id in $0.changes.keys { $0.changes[id]?.append(change) } }
        }
    }

    /// Starts keeping the changes `apply` makes, for a reload about to read the database.
    func beginRecording() -> Int {
        recordings.withLock { recordings in
            recordings.next += 1
            recordings.changes[recordings.next] = []
            return recordings.next
        }
    }

    func endRecording(_ id: Int) {
        _ = recordings.withLock { $0.changes.removeValue(forKey: id) }
    }

    /// Applies what a read made while `recording` ran found in the database — `read` replaces
    /// the whole snapshot (a reload) or writes the people changed elsewhere over it (a sync) —
    /// then applies again the changes this process applied meanwhile: the read may predate
    /// them. A change the read includes too (committed just before the read began, applied
    /// just after) is applied twice, to the same effect — unless another process changed the
    /// same person in that instant: then memory keeps this process's version of them until
    /// the next reload. `also` runs under the same lock, told whether memory was loaded before.
    func install(
        recording id: Int, _ read: (inout LiveSnapshot) -> Void, also: (_ wasLoaded: Bool) -> Void = { _ in }
    ) {
        snapshot.write { snapshot in
            let wasLoaded = snapshot.loaded
            read(&snapshot)
            let changes = recordings.withLock { $0.changes.updateValue([], forKey: id) ?? [] }
            for change in changes { change(&snapshot) }
            also(wasLoaded)
        }
    }

    func noteSeen(_ personID: String, at: Date) {
        lastSeenStripes[Int(UInt(bitPattern: personID.hashValue) % 16)].withLock { $0[personID] = at }
    }

    func countDenial(kind: String, reason: DecisionReason, subject: String, at: Date) {
        denials.withLock { $0[DenialKey(day: UTC.formatDay(at), kind: kind, reason: reason.rawValue), default: 0] += 1 }
        recentDenials.withLock { entries in
            entries.append(DenialEntry(at: at, kind: kind, reason: reason.rawValue, subject: subject))
            if entries.count > 2 * Self.keptDenials { entries.removeFirst(entries.count - Self.keptDenials) }
        }
    }

    /// An egress refusal: counted like every denial, and per destination (`host:port`).
    func countEgressDenial(reason: DecisionReason, destination: String, at: Date) {
        countDenial(kind: "egress", reason: reason, subject: destination, at: at)
        egressDenials.withLock { counts in
            var key = EgressDenialKey(day: UTC.formatDay(at), destination: destination, reason: reason.rawValue)
            if counts[key] == nil, counts.count >= Self.keptDestinations { key.destination = EgressDenialKey.otherDestinations }
            counts[key, default: 0] += 1
        }
    }

    private func takeRecentDenials() -> [DenialEntry] {
        recentDenials.withLock {
            let taken = $0; $0 = []; return Array(taken.suffix(Self.keptDenials))
        }
    }

    func takeLastSeen() -> [String: Date] {
        lastSeenStripes.reduce(into: [:]) { all, stripe in
            all.merge(
                stripe.withLock {
                    let taken = $0; $0 = [:]; return taken
                }
            ) { a, b in max(a, b) }
        }
    }
    func takeDenials() -> DenialBatch {
        DenialBatch(
            counts: denials.withLock {
                let taken = $0; $0 = [:]; return taken
            },
            byDestination: egressDenials.withLock {
                let taken = $0; $0 = [:]; return taken
            },
            recent: takeRecentDenials())
    }

    func noteSessionSeen(_ id: String, at time: Date) { sessionSeen.withLock { $0[id] = time } }

    func takeSessionSeen() -> [String: Date] {
        sessionSeen.withLock {
            let taken = $0; $0 = [:]; return taken
        }
    }

    func restoreSessionSeen(_ times: [String: Date]) {
        sessionSeen.withLock { current in for (id, t) in times where current[id].map({ $0 < t }) ?? true { current[id] = t } }
    }

    /// Puts back what could not be written, so nothing is lost on a transient failure.
    func restore(lastSeen times: [String: Date], denials batch: DenialBatch) {
        recentDenials.withLock { $0 = batch.recent + $0 }
        egressDenials.withLock { current in for (key, n) in batch.byDestination { current[key, default: 0] += n } }
        for (id, t) in times {
            lastSeenStripes[Int(UInt(bitPattern: id.hashValue) % 16)].withLock { current in
                if current[id].map({ $0 < t }) ?? true { current[id] = t }
            }
        }
        denials.withLock { current in for (key, n) in batch.counts { current[key, default: 0] += n } }
    }
}
