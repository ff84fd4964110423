import Synchronization

/// The audit sequence numbers this process committed. Every change of state appends to the
/// audit chain, so when the chain's head moves only by entries in this log, the change was
/// made here (and already applied to memory); anything else came from another process.
public final class AuditWriteLog: Sendable {
    private let seqs = Mutex(Set<Int64>())
    /// Gate sessions ended by committed transactions of this process, not yet taken by memory.
    private let ended = Mutex([String]())
    private let hasEnded = Atomic<Bool>(false)

    public init() {}

    func recordEndedSessions(_ ids: [String]) {
        ended.withLock { $0 += ids }
        hasEnded.store(true, ordering: .releasing)
    }

    /// The sessions ended here since last asked (one atomic load when there are none, so the
    /// gate can ask on every request).
    public func takeEndedSessions() -> [String] {
        guard hasEnded.load(ordering: .acquiring) else { return [] }
        return ended.withLock { list in
            hasEnded.store(false, ordering: .releasing)
            defer { list = [] }
            return list
        }
    }

    /// Records the entries a committed transaction appended.
    func record(_ range: ClosedRange<Int64>) {
        seqs.withLock { $0.formUnion(range) }
    }

    /// Forgets everything, so that the next sync reads back what this process wrote: after a
    /// first load (a write that reloads memory instead, a license say, reloads none that is
    /// not loaded yet). Elsewhere a read keeps what it does not hold (`forget(through:)`).
    public func clear() {
        seqs.withLock { $0.removeAll() }
    }

    /// Forgets the entries up to `seq`: memory took a read of the database as of `seq` (all
    /// of it, or the people changed since the last), and the changes of the later ones were
    /// applied over it (`LiveState.install`).
    public func forget(through seq: Int64) {
        seqs.withLock { seqs in seqs = seqs.filter { $0 > seq } }
    }

    /// Whether every entry in `range` was written by this process; forgets entries up to
    /// its upper bound either way.
    public func consume(_ range: ClosedRange<Int64>) -> Bool {
        seqs.withLock { seqs in
            let mine = range.allSatisfy { seqs.contains($0) }
            seqs = seqs.filter { $0 > range.upperBound }
            return mine
        }
    }
}
