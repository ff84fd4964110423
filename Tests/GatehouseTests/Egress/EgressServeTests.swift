import Foundation
import GatehouseDomain
import Testing

/// `gatehouse serve`'s proxy and `gatehouse egress check` with the real system resolver:
/// names are pointed at chosen addresses by an /etc/hosts bind-mounted in a private mount
/// namespace (`unshare --mount`), so nothing on the machine changes.
@Suite("Egress proxy in gatehouse serve", .serialized)
struct EgressServeTests {
    static let hosts = """
        127.0.0.1 localhost
        127.0.0.1 allowed.test
        127.0.0.2 other.allowed.test
        169.254.169.254 meta.allowed.test
        10.1.2.3 private.allowed.test
        ::1 v6.allowed.test

        """

    @Test("Names resolved by getaddrinfo: private answers refused by the proxy and the CLI, the allowed one passes")
    func systemResolver() async throws {
        let unshare = try requireProgram("unshare", package: "util-linux")
        let curl = try requireProgram("curl", package: "curl")
        let upstream = try await Upstream.start(.http)
        let P = upstream.port
        let cli = try CLI()
        try cli.setUp()
        try FileManager.default.createDirectory(atPath: cli.dir.file("policies"), withIntermediateDirectories: true)
        _ = try cli.dir.write("policies/egress.yml", """
            egress:
              mode: enforce
              allow_cidrs: ["127.0.0.1/32"]
              rules:
                - {name: test-upstream, hosts: ["allowed.test", "*.allowed.test"], ports: [\(P)]}
            """)
        try cli("policy", "apply", "policies").expectSuccess()
        let hostsFile = try cli.dir.write("hosts", Self.hosts)
        let inNamespace = ["--mount", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hostsFile, gatehouseBinary]

        // The CLI check, through the same resolver.
        let refused = try run(unshare, inNamespace + ["egress", "check", "http://meta.allowed.test:\(P)/", "--json"], cwd: cli.dir.path, environment: cli.environment)
        #expect(refused.status == 1 && refused.stdout.contains("resolves_to_private_address"), "\(refused.stdout) \(refused.stderr)")
        let allowed = try run(unshare, inNamespace + ["egress", "check", "http://allowed.test:\(P)/"], cwd: cli.dir.path, environment: cli.environment)
        #expect(allowed.status == 0, "\(allowed.stdout) \(allowed.stderr)")

        // The proxy inside `gatehouse serve`.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: unshare)
        process.arguments = inNamespace + ["serve", "--port", "0", "--egress-port", "0"]
        process.currentDirectoryURL = URL(fileURLWithPath: cli.dir.path)
        process.environment = cli.environment
        let output = privatePipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var log = ""
        let deadline = Date().addingTimeInterval(60)
        while !log.contains("Server started"), Date() < deadline, process.isRunning {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { try await Task.sleep(for: .milliseconds(50)) } else { log += String(decoding: chunk, as: UTF8.self) }
        }
        let address = try #require(log.firstMatch(of: /address=(127\.0\.0\.1:\d+)/)?.1, "no egress address in: \(log)")
        let proxy = "http://\(address)"

        let through = try run(curl, ["-sS", "-x", proxy, "http://allowed.test:\(P)/through"])
        #expect(through.stdout.hasPrefix("GET /through"), "\(through.stdout) \(through.stderr)")
        for name in ["meta.allowed.test", "private.allowed.test", "v6.allowed.test", "other.allowed.test", "localhost"] {
            // Plain HTTP (the response's status), then a CONNECT tunnel (the CONNECT's status).
            for arguments in [["-w", "%{http_code}", "-x", proxy, "http://\(name):\(P)/"], ["-w", "%{http_connect}", "-p", "-x", proxy, "http://\(name):\(P)/"]] {
                let response = try run(curl, ["-s", "-o", "/dev/null"] + arguments)
                #expect(response.stdout == "403", "\(name) \(arguments): \(response.stdout)")
            }
        }
        #expect(upstream.connections == 1)

        process.terminate()
        let stopBy = Date().addingTimeInterval(20)
        while process.isRunning, Date() < stopBy { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning && process.terminationStatus == 0)
        await upstream.stop()
    }
}
