import Foundation

/// Runs blocking work (libldap calls) on a thread of its own, so that neither an event loop
/// nor Swift's cooperative pool ever waits on the network.
enum Blocking {
    static func run<T: Sendable>(_ name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.name = name
            thread.start()
        }
    }
}
