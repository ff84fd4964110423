import Foundation
import GatehouseDomain
import Testing

/// The real binary: `gatehouse serve` provisioned into by scim2-tester (PyPI), the
/// independent SCIM conformance checker, then `gatehouse scim` reading what happened.
@Suite("SCIM through the served binary", .serialized)
struct ScimServeTests {
    @Test("scim2-tester's every check passes against gatehouse serve; gatehouse scim status and allow-removals")
    func scim2Tester() async throws {
        let python = try requireVenvProgram("python", package: "scim2-tester")
        let cli = try CLI()
        try cli.setUp()
        let port = try freeLoopbackPort()
        var yaml = try String(contentsOfFile: cli.dir.file("gatehouse.yml"), encoding: .utf8)
        // The checker creates and deletes dozens of users within the hour: the guard lifted for it.
        yaml += "listen: {host: 127.0.0.1, port: \(port)}\nscim: {max_removal_percent: 100}\n"
        _ = try cli.dir.write("gatehouse.yml", yaml)
        let created = try cli("tokens", "create", "--name", "okta", "--scope", "scim", "--json").expectSuccess().stdout
        let token = try #require(try JSONValue.parse(created)["token"]?.stringValue)
        let server = try ExternalProcess(
            gatehouseBinary, ["serve", "--egress-port", "0", "--gate-port", "0"], log: cli.dir.file("serve.log"),
            environment: cli.environment,
            cwd: cli.dir.path)
        defer { server.stop() }
        #expect(try await eventually(60) { server.output.contains("gatehouse is serving") }, "\(server.output)")

        let checked = try run(python, [repositoryRoot + "/Tests/scim/run-scim2-tester.py", "http://127.0.0.1:\(port)/scim/v2", token])
        // What it checked, kept to be read: one JSON line per check.
        let artifacts = repositoryRoot + "/.build/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        try checked.stdout.write(toFile: artifacts + "/scim2-tester.jsonl", atomically: true, encoding: .utf8)
        let results = checked.stdout.split(separator: "\n").compactMap { try? JSONValue.parse(String($0)) }
        let failed = results.filter { $0["status"] != "SUCCESS" && $0["status"] != "SKIPPED" }
        #expect(
            checked.status == 0 && failed.isEmpty, "\(failed.map(\.canonicalText).joined(separator: "\n"))\n\(checked.stderr.suffix(2000))")
        // The checker ran its whole list (discovery, CRUD, PATCH of every attribute, both resource types).
        #expect(results.filter { $0["status"] == "SUCCESS" }.count >= 100, "\(results.count) results")
        #expect(results.contains { $0["resource_type"] == "User" } && results.contains { $0["resource_type"] == "Group" })

        let status = try JSONValue.parse(cli("scim", "status", "--json").expectSuccess().stdout)
        #expect(status["tokens"] == ["okta"])
        #expect(status["max_removal_percent"] == 100)
        let allowed = try cli("scim", "allow-removals", "3").expectSuccess().stdout
        #expect(allowed.contains("allowed 3 more departures"))
        #expect(try cli("audit", "list", "--json").expectSuccess().stdout.contains("scim.removals.allow"))
        try cli("scim", "allow-removals", "0").expectCleanFailure("N must be from 1")
        #expect(!server.output.contains("unhandled"), "\(server.output.suffix(2000))")
    }
}
