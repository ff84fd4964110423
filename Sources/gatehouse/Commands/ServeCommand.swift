import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseEgressProxy
import GatehouseHTTP
import GatehouseService
import GatehouseSignIn
import Hummingbird
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the authorization and admin API, and the egress proxy.",
        discussion: """
            Applies pending migrations, then serves until SIGTERM or Ctrl-C (graceful shutdown).
            The egress proxy (--egress-port, default 3128) takes CONNECT host:port and absolute-URI
            HTTP requests and lets through what policies/egress.yml allows.
            --dev starts a throwaway instance with a dev license and tokens, for trying Gatehouse out.
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Throwaway database, dev signing key, dev license (50 seats, one year); prints tokens. Never for production.")
    var dev = false
    @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1).", valueName: "host")) var host: String?
    @Option(help: ArgumentHelp("Port for the API (default 8080; 0 picks a free port).", valueName: "port")) var port: Int?
    @Option(
        name: .customLong("egress-port"),
        help: ArgumentHelp("Port for the egress proxy (default 3128; 0 picks a free port).", valueName: "port"))
    var egressPort: Int?
    @Option(
        name: .customLong("gate-port"),
        help: ArgumentHelp(
            "Port for the gate's forward auth, when a gate is configured (default 8181; 0 picks a free port).", valueName: "port"))
    var gatePort: Int?

    func validate() throws {
        for (name, value) in [("--port", port), ("--egress-port", egressPort), ("--gate-port", gatePort)] {
            if let value, !(0...65535).contains(value) { throw ValidationError("\(name) must be a port number") }
        }
    }

    func run() async throws {
        var logger = Logger(label: "gatehouse", factory: DeferredMetadataLogHandler.init)
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info

        var config: GatehouseConfiguration
        var devEnvironment: DevEnvironment?
        if dev {
            let base = try? global.configuration()
            let listenHost = host ?? base?.listenHost ?? "127.0.0.1"
            // The gate's public URL is the API's own address in dev, so the port is fixed first.
            var listenPort = port ?? base?.listenPort ?? 8080
            if listenPort == 0 { listenPort = try Self.freePort(host: listenHost) }
            let environment = try await DevEnvironment.create(
                listenHost: listenHost, listenPort: listenPort, policies: base?.policies ?? GatehouseConfiguration().policies,
                gate: base?.gate)
            config = environment.configuration
            config.egressPort = egressPort ?? base?.egressPort ?? 3128
            config.gatePort = gatePort ?? base?.gatePort ?? 8181
            if let base {
                config.egressProxy = base.egressProxy
                config.http = base.http
            }
            devEnvironment = environment
        } else {
            config = try global.configuration()
            if let host { config.listenHost = host }
            if let port { config.listenPort = port }
            if let egressPort { config.egressPort = egressPort }
            if let gatePort { config.gatePort = gatePort }
        }
        defer { devEnvironment?.remove() }

        Self.raiseFileLimit(logger: logger)
        let gatehouse = try await Gatehouse.open(config, create: true)
        let applied = try await gatehouse.migrate(actor: "system")
        if !applied.isEmpty { logger.info("applied migrations", metadata: ["versions": "\(applied)"]) }
        let loading = ContinuousClock.now
        try await gatehouse.refresh()
        let loaded = ContinuousClock.now - loading
        logger.info(
            "people loaded into memory",
            metadata: [
                "people": "\(gatehouse.peopleInMemory)",
                "seconds": "\(String(format: "%.2f", loaded.seconds))",
            ])
        let status = try await gatehouse.licenseStatus()
        for warning in status.warnings { logger.warning("\(warning)") }

        let metrics = GatehouseMetrics()
        let egress = try await EgressProxy(
            gatehouse: gatehouse, host: config.listenHost, port: config.egressPort, limits: config.egressProxy,
            metrics: ProxyMetrics(registry: metrics.registry), logger: logger
        ).start()

        // The API and forward-auth ports' own event loops (`http.threads`), stopped after them.
        let loops = HTTPEventLoops(threads: config.http.threads)
        // The gate's forward auth, on a listener of its own (the reverse proxy asks it before
        // every request to Codecov).
        var services: [any Service] = [egress]
        var gateAddress: String?
        if gatehouse.gate != nil {
            let forwardAuth = try await ForwardAuthServer(
                gatehouse: gatehouse, metrics: metrics,
                settings: ForwardAuthSettings(
                    host: config.listenHost, port: config.gatePort, limits: ConnectionLimits(config.http), loops: loops),
                logger: logger
            ).start()
            services.append(forwardAuth)
            gateAddress = "\(config.listenHost):\(forwardAuth.port)"
        }
        let listenHost = config.listenHost
        let runLogger = logger
        let app = buildApplication(
            gatehouse: gatehouse,
            settings: HTTPSettings(host: config.listenHost, port: config.listenPort, limits: ConnectionLimits(config.http), loops: loops),
            logger: logger,
            metrics: metrics, services: services
        ) { [devEnvironment, gateAddress] boundPort in
            let base = "http://\(listenHost):\(boundPort)"
            if let devEnvironment {
                Output.line(
                    Self.devBanner(
                        devEnvironment, base: base, proxy: "http://\(listenHost):\(egress.port)", status: status, gate: gatehouse.gate,
                        gateAddress: gateAddress))
            } else {
                var metadata: Logger.Metadata = ["url": "\(base)", "license": "\(status.state.rawValue)"]
                if let gateAddress { metadata["gate"] = "\(gateAddress)" }
                runLogger.info("gatehouse is serving", metadata: metadata)
            }
        }
        do { try await app.runService() } catch {
            await loops.shutdown()
            throw error
        }
        await loops.shutdown()
    }

    /// Every connection is a file: the soft limit (often 1,024) is raised to the hard one where
    /// allowed, so that the connection caps, not the file limit, decide when to wait.
    static func raiseFileLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        let before = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.debug("raised the open-file limit", metadata: ["from": "\(before)", "to": "\(limit.rlim_max)"])
        } else {
            logger.warning("cannot raise the open-file limit", metadata: ["limit": "\(before)"])
        }
    }

    /// A free TCP port on `host` (for `--dev --port 0`, whose gate needs its URL up front).
    static func freePort(host: String) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr(host == "localhost" ? "127.0.0.1" : host)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw ValidationError("cannot find a free port on \(host); pass --port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// How to try the gate without a reverse proxy: a sign-in link when a provider is
    /// configured (it ends on /gate/session, who you are), and forward-auth questions by hand.
    static func gateLines(_ gate: GateConfiguration?, base: String, gateAddress: String?) -> String {
        guard let gate else { return "" }
        let auth = gateAddress.map { "http://\($0)" } ?? base
        var lines = [
            "",
            "  Gate:     \(auth)/gate/auth — forward auth for the reverse proxy in front of Codecov; its pages",
            "            at \(gate.origin)/gate/ (deploy/ has nginx, HAProxy and Caddy recipes). Ask it as nginx would:",
            "    curl -si \(auth)/gate/auth -H 'X-Original-URI: /login/gh' | grep -i 'HTTP/\\|sign-in'  # 401: sign in first",
            "    curl -si \(auth)/gate/auth -H 'X-Original-URI: /webhooks/github' | head -1           # 200: a public route",
        ]
        if let first = gate.signIn.first {
            lines += ["  Sign in (\(first.displayName)), then see who you are:", "    \(gate.origin)/gate/sign-in?rd=/gate/session"]
        } else {
            lines += ["  No sign-in provider yet: add gate.signin to gatehouse.yml (README, \"Put Gatehouse in front of Codecov\")."]
        }
        return lines.joined(separator: "\n")
    }

    static func devBanner(
        _ env: DevEnvironment, base: String, proxy: String, status: LicenseStatusReport, gate: GateConfiguration?, gateAddress: String?
    ) -> String {
        """

        Gatehouse dev server — throwaway data in \(env.directory) (deleted on exit). Never use in production.

          API:      \(base)
          Egress:   \(proxy)  (proxy for the Codecov instance's outbound calls; policies/egress.yml)
          License:  \(status.license?.licenseID ?? "?") for \(status.license?.licensee ?? "?"): \(status.license?.seats ?? 0) seats, \
        state \(status.state.rawValue), expires \(status.license.map { UTC.formatDay($0.expiresAt) } ?? "?")
                    file \(env.licensePath)
          Tokens (shown once):
            authorize  \(env.authorizeToken)
            admin      \(env.adminToken)
            scim       \(env.scimToken)  (an identity provider provisioning at /scim/v2)
          Console:  \(env.consoleLink.map { "\($0)\n            (signs \(env.consoleAdmin ?? "the admin") in; one use, ten minutes; more with `gatehouse console sign-in-link`)" } ?? "needs gate: in gatehouse.yml")
        \(gateLines(gate, base: base, gateAddress: gateAddress))

        Try, in another shell:
          export ADMIN=\(env.adminToken)
          export AUTHZ=\(env.authorizeToken)
          curl -s \(base)/v1/authorize/login -H "Authorization: Bearer $AUTHZ" -H 'Content-Type: application/json' \\
               -d '{"provider":"github","username":"alice","external_id":"101","orgs":["acme"]}'
          curl -s \(base)/v1/license -H "Authorization: Bearer $ADMIN"
          curl -s \(base)/v1/seats -H "Authorization: Bearer $ADMIN"
          curl -s \(base)/v1/audit -H "Authorization: Bearer $ADMIN"
          curl -s \(base)/readyz
          curl -s \(base)/metrics | grep gatehouse_
          curl -sx \(proxy) https://api.github.com/ -o /dev/null -w '%{http_code}\\n'   # allowed (if reachable)
          curl -sx \(proxy) http://169.254.169.254/latest/meta-data/                 # refused: 403

        Stop with Ctrl-C.
        """
    }
}
