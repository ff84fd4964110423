import Dispatch
import GatehouseDomain

/// Builds a `PeopleIndex` from the parts of a load on a queue of its own, beside the read that
/// produces them: decoding rows (the database's thread) and indexing them (this queue's)
/// overlap on two cores instead of following each other.
final class PeopleLoader: @unchecked Sendable {
    private let queue = DispatchQueue(label: "gatehouse.people-load")
    /// Touched only on `queue`.
    private var index = PeopleIndex()

    func take(_ part: PeopleLoadPart) {
        queue.async { self.index.load(part) }
    }

    /// Waits for every part taken, and hands over the index (the loader keeps no share of it).
    func finish(auditSeq: Int64) -> PeopleIndex {
        queue.sync {
            index.advance(to: auditSeq)
            defer { index = PeopleIndex() }
            return index
        }
    }
}
