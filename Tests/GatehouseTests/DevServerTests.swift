import Foundation
import GatehouseDomain
import NIOHTTP1
import Testing

/// `gatehouse serve --dev` as a newcomer runs it: real process, real HTTP (curl), SIGTERM.
@Suite("serve --dev", .serialized)
struct DevServerTests {
    @Test func devServerServesAndShutsDownGracefully() async throws {
        let curl = try requireProgram("curl", package: "curl")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gatehouseBinary)
        process.arguments = ["serve", "--dev", "--port", "0", "--gate-port", "0"]
        let dir = try TempDir()
        process.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        let out = privatePipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // Read the banner (with a deadline) for the URL and the admin token.
        var banner = ""
        let deadline = Date().addingTimeInterval(60)
        while !banner.contains("Stop with Ctrl-C"), Date() < deadline, process.isRunning {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { try await Task.sleep(for: .milliseconds(50)) } else { banner += String(decoding: chunk, as: UTF8.self) }
        }
        func field(_ label: String) -> String? {
            banner.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }
                .map { String($0.trimmingCharacters(in: .whitespaces).dropFirst(label.count)).trimmingCharacters(in: .whitespaces) }
        }
        let base = try #require(field("API:"), "no API line in: \(banner)")
        let admin = try #require(field("admin"))
        let authorize = try #require(field("authorize"))
        let devDir = try #require(banner.split(separator: " ").first { $0.contains("gatehouse-dev-") }.map(String.init))
        #expect(FileManager.default.fileExists(atPath: devDir))

        let license = try run(curl, ["-sS", "\(base)/v1/license", "-H", "Authorization: Bearer \(authorize)"])
        let body = try JSONValue.parse(license.stdout)
        #expect(body["state"] == "valid")
        #expect(body["seats"] == 50)
        #expect(body["licensee"] == "Gatehouse Dev")
        let audit = try run(curl, ["-sS", "\(base)/v1/audit", "-H", "Authorization: Bearer \(admin)"]).stdout
        #expect(audit.contains("license.install"))
        let ready = try run(curl, ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/readyz"]).stdout
        #expect(ready == "200")
        let denied = try run(
            curl, ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/v1/audit", "-H", "Authorization: Bearer \(authorize)"]
        ).stdout
        #expect(denied == "403")
        // The gate, asked as nginx would, without a proxy (the banner says how).
        #expect(banner.contains("X-Original-URI: /login/gh"))
        let signIn = try run(
            curl, ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "\(base)/gate/auth", "-H", "X-Original-URI: /login/gh"]
        ).stdout
        #expect(signIn == "401")

        // SIGTERM: graceful shutdown, exit 0, throwaway data removed.
        process.terminate()
        let stopBy = Date().addingTimeInterval(20)
        while process.isRunning, Date() < stopBy { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: devDir))
    }

    /// With a sign-in provider in gatehouse.yml, `serve --dev` prints a sign-in link that ends
    /// on /gate/session: the gate's whole round trip, without a reverse proxy.
    @Test func devServerSignsInThroughTheConfiguredProvider() async throws {
        let dir = try TempDir()
        let oidc = try await OIDCProviderMock(in: dir)
        try await oidc.setUser("alice", ["preferred_username": "alice", "email": "alice@acme.com"])
        let port = try freeLoopbackPort()
        _ = try dir.write("dev.secret", "dev\n")
        _ = try dir.write(
            "gatehouse.yml",
            """
            gate:
              public_url: http://127.0.0.1:\(port)
              signin:
                - {name: dev, kind: oidc, issuer: "\(oidc.issuer)", client_id: gatehouse, client_secret_file: dev.secret}
            """)
        let server = try ExternalProcess(
            gatehouseBinary, ["serve", "--dev", "--port", String(port), "--egress-port", "0", "--gate-port", "0"],
            log: dir.file("serve.log"),
            environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()], cwd: dir.path)
        defer { server.stop() }
        let started = try await eventually(60) { server.output.contains("Stop with Ctrl-C") }
        #expect(started, "\(server.output)")
        let link = try #require(
            server.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.contains("/gate/sign-in?rd=") })
        var answer = try await HTTPProbe.request(.GET, link)
        let binding = try #require(answer.cookies["gatehouse_signin"])
        let callback = try await oidc.authorize(try #require(answer.location), as: "alice")
        answer = try await HTTPProbe.request(.GET, callback, headers: [("Cookie", "gatehouse_signin=\(binding)")])
        #expect(answer.location == "http://127.0.0.1:\(port)/gate/session")
        let session = try #require(answer.cookies["gatehouse_session"])
        let whoami = try await HTTPProbe.request(.GET, try #require(answer.location), headers: [("Cookie", "gatehouse_session=\(session)")])
        #expect(try JSONValue.parse(whoami.body)["identity"] == "oidc:alice")
    }

    /// `http.threads` gives the API and forward-auth ports a group of event loops of that size
    /// (SwiftNIO names its threads `NIO-ELT-<group>-#<loop>`), which stops with the server.
    @Test func serveRunsTheHTTPPortsOnHTTPThreads() async throws {
        let dir = try TempDir()
        let port = try freeLoopbackPort()
        _ = try dir.write("gatehouse.yml", "http: {threads: 5}\n")
        let server = try ExternalProcess(
            gatehouseBinary, ["serve", "--dev", "--port", String(port), "--egress-port", "0", "--gate-port", "0"],
            log: dir.file("serve.log"), environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()], cwd: dir.path)
        defer { server.stop() }
        #expect(try await eventually(60) { server.output.contains("Stop with Ctrl-C") }, "\(server.output)")
        // Five loops for the HTTP ports; the egress proxy's one and the process's shared group (a
        // loop per core) besides.
        let pid = server.process.processIdentifier
        let before = try Self.eventLoopGroups(pid)
        let own = try #require(before.first { $0.value.threads == 5 }?.key, "\(before)")
        #expect(before.values.filter { $0.threads == 5 }.count == 1, "\(before)")
        // The API is served there: each request wakes one of its loops out of its wait.
        for _ in 0..<100 { #expect(try await HTTPProbe.request(.GET, "http://127.0.0.1:\(port)/healthz").status == 200) }
        let after = try Self.eventLoopGroups(pid)
        let woken = (after[own]?.wakeups ?? 0) - (before[own]?.wakeups ?? 0)
        #expect(woken >= 100, "\(before) → \(after)")
        server.process.terminate()
        #expect(try await eventually(20) { !server.process.isRunning })
        #expect(server.process.terminationStatus == 0, "\(server.output)")
    }

    /// SwiftNIO's event loop threads of process `pid` by group (`NIO-ELT-<group>-#<loop>`): how
    /// many, and how often they have been woken (voluntary context switches: a loop waits for
    /// work in `epoll_wait`).
    static func eventLoopGroups(_ pid: Int32) throws -> [String: (threads: Int, wakeups: Int)] {
        var groups: [String: (threads: Int, wakeups: Int)] = [:]
        for task in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") {
            guard let name = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8),
                name.hasPrefix("NIO-ELT-"), let hash = name.firstIndex(of: "#"),
                let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("voluntary_ctxt_switches:") }),
                let switches = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
            else { continue }
            let group = String(name[..<hash])
            groups[group, default: (0, 0)].threads += 1
            groups[group, default: (0, 0)].wakeups += switches
        }
        return groups
    }
}
