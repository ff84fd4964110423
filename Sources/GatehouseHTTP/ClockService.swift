import GatehouseService
import Logging
import ServiceLifecycle

/// Records the wall-clock time once a minute, so that a clock set back later (to stretch a
/// license) is detected even if no one asked for the license status meanwhile.
struct ClockService: Service {
    let gatehouse: Gatehouse
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await gatehouse.observeClock()
            } catch {
                logger.warning("could not record the time", metadata: ["error": "\(GatehouseError.from(error)?.message ?? "database error")"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(60)) }
            } catch {
                return
            }
        }
    }
}
