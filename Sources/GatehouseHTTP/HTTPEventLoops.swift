import NIOCore
import NIOPosix

/// The event loops that serve the API port and the gate's forward-auth port (`http.threads`).
///
/// Decisions are answered on the loop that read them (`DecisionFastPath`, the forward-auth
/// pipeline), so a loop thread the kernel sets aside for a time slice holds back every
/// connection it carries. With a loop per core, that was half of wrk's connections on two
/// cores, and the decisions' p99 ran 1.3–1.8 ms above the no-op route's in most rounds (which
/// spreads its work over a task pool as well). With four loops per core, each carries fewer
/// connections and the kernel shares the cores among them: side by side, the median p99
/// difference fell from 1.5 to 0.8 ms, with more decisions per CPU second, not fewer
/// (docs/benchmarks.md, "Session of 2026-11-27 (evening)"; sixteen or more loops were worse).
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
