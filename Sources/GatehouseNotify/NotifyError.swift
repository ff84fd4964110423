/// Why a notification could not be delivered: a sentence for the audit log and the operator.
/// It names hosts and answers, never a URL's path (a Slack webhook's secret) or a password.
public struct NotifyError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Runs `body`, or fails with `message` once `limit` has passed (the task is cancelled).
func within<T: Sendable>(_ limit: Duration, _ message: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw NotifyError(message)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
