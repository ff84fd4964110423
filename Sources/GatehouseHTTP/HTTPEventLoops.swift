import NIOCore
import NIOPosix

/// The event loops that serve the API port and the gate's forward-auth port (`http.threads`).
///
/// Decisions are answered on the loop that read them (`DecisionFastPath`, the forward-auth
/// pipeline), so a loop thread the kernel sets aside for a time slice holds back every
/// connection it carries. With a loop per core, that was a quarter of wrk's connections on two
/// cores, and it set the decisions' p99 1–3.6 ms above the no-op route's, which spreads its
/// work over a task pool as well. With four loops per core, each carries fewer connections and
/// the kernel shares the cores among them: p99 within 0.4 ms of the no-op route's, and more
/// decisions per CPU second, not fewer (docs/benchmarks.md, "Session of 2026-11-27 (evening)").
public final class HTTPEventLoops: Sendable {
    private let own: MultiThreadedEventLoopGroup?

    /// A group of `threads` loops of its own, stopped by `shutdown()`.
    public init(threads: Int) {
        own = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    private init() { own = nil }

    /// The process's shared loops (one per core): what in-process tests and tools use.
    public static let shared = HTTPEventLoops()

    var group: any EventLoopGroup { own ?? MultiThreadedEventLoopGroup.singleton }

    /// Stops a group of its own once the servers on it have closed (the shared one never stops).
    public func shutdown() async {
        try? await own?.shutdownGracefully()
    }
}
