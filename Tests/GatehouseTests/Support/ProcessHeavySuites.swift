import Testing

/// Suites that run many real processes at once (several `gatehouse serve` replicas, proxies,
/// a browser) and measure how fast a change reaches them: run one after another, so that one
/// suite's load on the machine's cores does not stretch another's "within a second".
@Suite("Many processes at once", .serialized)
enum ProcessHeavySuites {}
