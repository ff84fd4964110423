import GatehouseDomain
import GatehouseService
import Hummingbird
import Prometheus

/// `/healthz`, `/readyz`, `/metrics`: for load balancers, orchestrators and Prometheus.
struct OperationsRoutes {
    let gatehouse: Gatehouse
    let metrics: GatehouseMetrics

    func register(_ api: Registrar) {
        api.add(.get, "/healthz") { _, _ in Response.json(["status": "ok"]) }
        api.add(.get, "/openapi.json") { _, _ in
            var buffer = ByteBuffer()
            buffer.writeString(openAPIDocument)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
        }
        api.add(.get, "/readyz") { request, _ in
            // Details (the directory's last error names its server and bind DN) only for a token.
            var detailed = false
            if let secret = BearerAuthMiddleware.secret(request), let token = try? await gatehouse.authenticate(bearer: secret),
                token.scope.permits(.read)
            {
                detailed = true
            }
            let (ready, body) = await gatehouse.readiness(detailed: detailed)
            return Response.json(body, status: ready ? .ok : .serviceUnavailable)
        }
        api.add(.get, "/metrics") { _, _ in
            await updateLicenseGauges()
            var buffer = ByteBuffer()
            buffer.writeString(metrics.render())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: buffer))
        }
    }

    /// License gauges are read at scrape time, so they are never stale.
    func updateLicenseGauges() async {
        guard let status = try? await gatehouse.licenseStatus() else { return }
        for state in LicenseState.allCases {
            metrics.gauge("license_state", help: "1 for the license's current state.", labels: [("state", state.rawValue)])
                .set(Int64(state == status.state ? 1 : 0))
        }
        metrics.gauge("license_seats", help: "Seats licensed.").set(status.license?.seats ?? 0)
        metrics.gauge("seats_active", help: "People holding a seat.").set(status.seatsActive)
        metrics.gauge("license_days_left", help: "Whole days until the license expires.").set(status.daysLeft ?? 0)
        // Delivery outcomes across every replica, from the outbox.
        guard !gatehouse.notificationChannels.isEmpty, let counts = try? await gatehouse.notificationCounts() else { return }
        for channel in gatehouse.notificationChannels {
            for state in StoredNotification.State.allCases {
                metrics.gauge(
                    "notifications", help: "Notifications by channel and delivery state (pending, sent, failed: given up).",
                    labels: [("channel", channel.name), ("state", state.rawValue)]
                ).set(counts.first { $0.channel == channel.name && $0.state == state }?.count ?? 0)
            }
        }
    }
}
