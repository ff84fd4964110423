import GatehouseDomain
import GatehouseStorage
import Synchronization

/// Concurrent seat activations written together (group commit): while one write transaction
/// runs, the activations that arrive wait, and the next transaction writes all of them.
///
/// Every write transaction is serialised (SQLite's single writer; on PostgreSQL an advisory
/// lock across replicas) and pays a fixed cost — on PostgreSQL the lock, the audit head's read
/// and write, and a commit that waits for the disk — so a burst of first logins (a company's
/// first morning) wrote one at a time at that cost each. A lone activation is written at once,
/// as before; under load a batch takes every activation waiting, in arrival order, up to
/// `maxBatch`. Each one's rule still reads facts that include the ones before it, so the seat
/// limit holds exactly as one by one (`PeopleStore.activateSeats`).
final class ActivationQueue: Sendable {
    /// One activation waiting: what to write, and how to write it alone should its batch fail.
    struct Job: Sendable {
        var activation: SeatActivation
        /// The activation in a transaction of its own, with its own recovery from a conflict.
        var alone: @Sendable () async throws -> ActivationResult
    }

    private struct Waiting {
        var job: Job
        var continuation: CheckedContinuation<ActivationResult, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var writing = false
        var batches = 0
        var largest = 0
    }

    /// At most this many activations in one transaction (a bound on how long it holds the writer).
    let maxBatch: Int
    /// Writes several activations in one transaction, all or nothing (`PeopleStore.activateSeats`).
    private let writeBatch: @Sendable ([SeatActivation]) async throws -> [ActivationResult]
    private let state = Mutex(State())

    init(maxBatch: Int = 128, writeBatch: @escaping @Sendable ([SeatActivation]) async throws -> [ActivationResult]) {
        self.maxBatch = maxBatch
        self.writeBatch = writeBatch
    }

    /// Transactions written through the queue so far, and the most activations one held.
    var written: (batches: Int, largest: Int) { state.withLock { ($0.batches, $0.largest) } }
    /// Activations waiting for the next transaction.
    var waiting: Int { state.withLock { $0.waiting.count } }

    /// Writes `job` with whatever else is waiting and returns its result. When a batch fails
    /// with one activation's refusal (a conflict with stored data, a person not found), each is
    /// written alone, so one activation's refusal is not the others'. Any other failure (the
    /// database unreachable) is every one's.
    func submit(_ job: Job) async throws -> ActivationResult {
        try await withCheckedThrowingContinuation { continuation in
            let lead = state.withLock { state in
                state.waiting.append(Waiting(job: job, continuation: continuation))
                if state.writing { return false }
                state.writing = true
                return true
            }
            if lead { Task { await self.drain() } }
        }
    }

    /// Writes batches until nobody is waiting.
    private func drain() async {
        while true {
            let batch: [Waiting] = state.withLock { state in
                let taken = Array(state.waiting.prefix(maxBatch))
                state.waiting.removeFirst(taken.count)
                if taken.isEmpty {
                    state.writing = false
                } else {
                    state.batches += 1
                    state.largest = max(state.largest, taken.count)
                }
                return taken
            }
            if batch.isEmpty { return }
            if batch.count == 1 {
                await resume(batch[0]) { try await batch[0].job.alone() }
                continue
            }
            do {
                let results = try await writeBatch(batch.map(\.job.activation))
                // Every waiting request is answered, whatever the store returned.
                guard results.count == batch.count else {
                    throw StoreError(.corrupt, "a batch of \(batch.count) seat activations returned \(results.count) results")
                }
                for (waiting, result) in zip(batch, results) { waiting.continuation.resume(returning: result) }
            } catch let error as StoreError where error.code == .conflict || error.code == .notFound {
                for waiting in batch { await resume(waiting) { try await waiting.job.alone() } }
            } catch {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
            }
        }
    }

    private func resume(_ waiting: Waiting, with work: () async throws -> ActivationResult) async {
        do { waiting.continuation.resume(returning: try await work()) } catch { waiting.continuation.resume(throwing: error) }
    }
}
