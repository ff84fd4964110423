import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import GatehouseStorage
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// `egress check` and `POST /v1/authorize/egress` with the real system resolver.
@Suite("Egress checks")
struct EgressCheckTests {
    static let policyText = """
        egress:
          mode: enforce
          rules:
            - {name: slack, hosts: ["hooks.slack.com"], ports: [443]}
            - {name: local-name, hosts: ["localhost"], ports: [443]}
        """

    @Test("A name that resolves to loopback is refused even when a rule allows the name")
    func resolvesToLoopback() async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(policy: ["egress.yml": Self.policyText])
        let check = try await gatehouse.checkEgress(url: "https://localhost/")
        #expect(!check.allow && check.verdict.reason == .resolvesToPrivateAddress)
        #expect(check.addresses.contains(.v4(0x7F00_0001)))
        let literal = try await gatehouse.checkEgress(url: "https://0x7f.1/")
        #expect(!literal.allow && literal.verdict.reason == .ipLiteralNotAllowed)
        let port = try await gatehouse.checkEgress(url: "http://hooks.slack.com/")
        #expect(!port.allow && port.verdict.reason == .portNotAllowed)
    }

    @Test("Report mode allows what enforce would refuse, and says so; refusals are counted")
    func reportMode() async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(policy: ["egress.yml": Self.policyText.replacingOccurrences(of: "mode: enforce", with: "mode: report")])
        let check = try await gatehouse.checkEgress(url: "https://evil.example/")
        #expect(check.allow && check.json["would_refuse"] == "destination_not_allowed")
        try await gatehouse.flushBookkeeping()
        let counts = try await gatehouse.store.denialCounts(since: nil)
        #expect(counts.contains { $0.key.kind == "egress" && $0.key.reason == "destination_not_allowed" })
    }

    @Test("policy check reports every bad egress rule with file and line")
    func policyProblems() async throws {
        let result = PolicyLoader.parse(files: [
            "egress.yml": """
                egress:
                  mode: strict
                  allow_cidrs: ["10.0.0.0/33", "10.0.0.0/8"]
                  rules:
                    - {name: a, hosts: ["*"], ports: [443]}
                    - {name: b, hosts: ["a*.b", "*.*.x"], ports: [0]}
                    - {name: a, hosts: ["ok.example"], ports: [443]}
                """
        ])
        #expect(result.policy == nil)
        let text = result.problems.joined(separator: "\n")
        for fragment in ["egress.yml: line 2", "strict", "10.0.0.0/33", "egress.yml: line 5", "\"*\"", "a*.b", "*.*.x", "defined twice"] {
            #expect(text.contains(fragment), "\(fragment) missing from:\n\(text)")
        }
    }

    @Test("The shipped policies/egress.yml is the built-in default")
    func shippedDefault() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("policies/egress.yml"), encoding: .utf8)
        let parsed = PolicyLoader.parse(files: ["egress.yml": text])
        #expect(parsed.problems.isEmpty)
        #expect(parsed.policy?.egress == EgressPolicy.shipped)
        #expect(EgressPolicy.shipped.rules.allSatisfy { $0.ports == [443] })
    }

    @Test("The CLI exits 0 when allowed, 1 with the reason when refused; the API answers the same")
    func cliAndAPI() async throws {
        let cli = try CLI()
        try cli.setUp()
        try FileManager.default.createDirectory(atPath: cli.dir.file("policies"), withIntermediateDirectories: true)
        _ = try cli.dir.write("policies/egress.yml", Self.policyText)
        try cli("policy", "apply", "policies").expectSuccess()
        let refused = try cli("egress", "check", "http://169.254.169.254/latest/meta-data/")
        #expect(refused.status == 1 && refused.stdout.contains("ip_literal_not_allowed"))
        let json = try cli("egress", "check", "https://hooks.slack.com:22/x", "--json")
        #expect(json.status == 1)
        #expect(try JSONValue.parse(Array(json.stdout.utf8))["reason"] == "port_not_allowed")

        let (_, gatehouse, _) = try await gatehouseWithLicense(policy: ["egress.yml": Self.policyText])
        let token = try await gatehouse.createToken(name: "codecov", scope: .authorize, actor: "test").secret
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = buildApplication(gatehouse: gatehouse, settings: HTTPSettings(host: "127.0.0.1", port: 0), logger: logger)
        try await app.test(.router) { client in
            let headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
            for (url, reason) in [
                ("http://[::ffff:127.0.0.1]/", "ip_literal_not_allowed"), ("https://hooks.slack.com@evil.example/", "destination_not_allowed"),
                ("https://localhost./", "resolves_to_private_address"),
            ] {
                let response = try await client.execute(
                    uri: "/v1/authorize/egress", method: .post, headers: headers, body: ByteBuffer(string: "{\"url\":\"\(url)\"}"))
                #expect(response.status == .ok)
                let body = try JSONValue.parse(Array(response.body.readableBytesView))
                #expect(body["allow"] == false && body["reason"] == .string(reason), "\(url): \(String(buffer: response.body))")
            }
            let bad = try await client.execute(uri: "/v1/authorize/egress", method: .post, headers: headers, body: ByteBuffer(string: "{\"url\":5}"))
            #expect(bad.status == .unprocessableContent)
        }
    }
}
