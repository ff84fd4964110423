import GatehouseDirectory
import GatehouseDomain
import GatehouseService
import Logging
import ServiceLifecycle

/// Runs `work` every `interval` until graceful shutdown, then `finally` once.
struct PeriodicService: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let work: @Sendable () async throws -> Void
    var finally: (@Sendable () async throws -> Void)?

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await work()
            } catch {
                logger.warning("\(name) failed", metadata: ["error": "\(GatehouseError.from(error)?.message ?? "\(type(of: error))")"])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
        }
        do { try await finally?() } catch {
            logger.error(
                "\(name) failed at shutdown", metadata: ["error": "\(GatehouseError.from(error)?.message ?? "\(type(of: error))")"])
        }
    }
}

extension Gatehouse {
    /// Runs a periodic job only while this replica holds its lease (one replica at a time).
    func exclusively(_ job: String, every interval: Duration, logger: Logger, _ work: @escaping @Sendable () async throws -> Void)
        -> PeriodicService
    {
        PeriodicService(name: job, interval: interval, logger: logger) {
            guard try await self.claimJob(job, every: interval) else { return }
            try await work()
        }
    }

    /// The long-running parts beside the HTTP server.
    func backgroundServices(logger: Logger) -> [any Service] {
        var services: [any Service] = [
            // A change made by a CLI command or another replica reaches memory within a second
            // (the check is one small read of the audit head).
            PeriodicService(name: "state sync", interval: .milliseconds(250), logger: logger) { try await self.syncIfChanged() },
            // Last-seen times and denial counts are written in batches (and at shutdown).
            PeriodicService(name: "bookkeeping", interval: .seconds(5), logger: logger, work: { try await self.flushBookkeeping() }) {
                try await self.flushBookkeeping()
            },
            // The latest time seen, so that a clock set back is detected.
            PeriodicService(name: "clock", interval: .seconds(60), logger: logger) { try await self.observeClock() },
            // Idle seats go back to the pool (policy `deactivate_inactive_after_days`).
            exclusively("inactivity sweep", every: .seconds(3600), logger: logger) {
                let released = try await self.sweepInactiveSeats()
                if !released.isEmpty { logger.info("released idle seats", metadata: ["count": "\(released.count)"]) }
            },
        ]
        if gate != nil {
            // Sessions past their end or idle are ended (audited) and forgotten everywhere.
            services.append(
                exclusively("session sweep", every: .seconds(300), logger: logger) {
                    let ended = try await self.sweepSessions()
                    if !ended.isEmpty { logger.info("ended expired sessions", metadata: ["count": "\(ended.count)"]) }
                })
        }
        if !notificationChannels.isEmpty {
            // Occurrences are looked for on one replica at a time (the outbox would refuse a
            // second copy anyway) and what they queue is sent at once; any replica delivers
            // what is due, row by row, so that retries go on when a replica dies.
            services.append(
                exclusively("notification events", every: .seconds(10), logger: logger) {
                    let queued = try await self.raiseNotifications()
                    for draft in queued {
                        logger.info(
                            "notification queued", metadata: ["channel": "\(draft.channel)", "event": "\(draft.occurrence.event.rawValue)"])
                    }
                    if !queued.isEmpty { try await self.deliverNotifications(logger: logger) }
                })
            services.append(
                PeriodicService(name: "notification delivery", interval: .seconds(5), logger: logger) {
                    try await self.deliverNotifications(logger: logger)
                })
        }
        if let settings = directorySettings {
            // The directory is read every `sync_interval`; a failed read changes nothing
            // (decisions go on from the last good sync) and is logged and shown by readyz.
            services.append(
                exclusively("directory sync", every: .seconds(settings.syncInterval), logger: logger) {
                    let outcome = try await self.syncDirectory(actor: "system")
                    if !outcome.plan.isEmpty {
                        logger.info(
                            "directory synced",
                            metadata: [
                                "added": "\(outcome.plan.added.count)", "updated": "\(outcome.plan.updated.count)",
                                "left": "\(outcome.plan.left.count)",
                                "memberships": "\(outcome.plan.memberships.count)",
                            ])
                    }
                })
        }
        return services
    }
}

extension Gatehouse {
    /// One round of delivery, each outcome logged (never a URL or a secret: errors name hosts).
    func deliverNotifications(logger: Logger) async throws {
        let round = try await deliverNotifications()
        for n in round.sent { logger.info("notification sent", metadata: ["channel": "\(n.channel)", "event": "\(n.event)"]) }
        for (n, outcome) in round.failed {
            switch outcome {
            case .retry(let error, let next):
                logger.warning(
                    "notification failed; will retry",
                    metadata: [
                        "channel": "\(n.channel)", "event": "\(n.event)", "error": "\(error)", "next_attempt_at": "\(UTC.format(next))",
                    ])
            case .gaveUp(let error):
                logger.error("notification given up", metadata: ["channel": "\(n.channel)", "event": "\(n.event)", "error": "\(error)"])
            case .sent: break
            }
        }
    }
}
