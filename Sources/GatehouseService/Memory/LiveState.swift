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
    var policyHash: String?
    var tokens: [String: TokenRecord] = [:]
    var loaded = false
}

/// Memory shared by every request: the snapshot, plus bookkeeping (last-seen times and
/// denial counts) buffered for batched writes.
final class LiveState: Sendable {
    let snapshot = Mutex(LiveSnapshot())
    let lastSeen = Mutex([String: Date]())
    let denials = Mutex([DenialKey: Int64]())

    var current: LiveSnapshot { snapshot.withLock { $0 } }

    func update(_ body: (inout LiveSnapshot) -> Void) { snapshot.withLock { body(&$0) } }

    func noteSeen(_ personID: String, at: Date) { lastSeen.withLock { $0[personID] = at } }

    func countDenial(kind: String, reason: DecisionReason, at: Date) {
        denials.withLock { $0[DenialKey(day: UTC.formatDay(at), kind: kind, reason: reason.rawValue), default: 0] += 1 }
    }

    func takeLastSeen() -> [String: Date] { lastSeen.withLock { let taken = $0; $0 = [:]; return taken } }
    func takeDenials() -> [DenialKey: Int64] { denials.withLock { let taken = $0; $0 = [:]; return taken } }

    /// Puts back what could not be written, so nothing is lost on a transient failure.
    func restore(lastSeen times: [String: Date], denials counts: [DenialKey: Int64]) {
        lastSeen.withLock { current in
            for (id, t) in times where current[id].map({ $0 < t }) ?? true { current[id] = t }
        }
        denials.withLock { current in for (key, n) in counts { current[key, default: 0] += n } }
    }
}
