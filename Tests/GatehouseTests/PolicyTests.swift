import Foundation
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Testing

@Suite("Policies")
struct PolicyTests {
    @Test func shippedPoliciesAreValid() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../policies").standardized.path
        let result = PolicyLoader.load(directory: shipped)
        #expect(result.problems.isEmpty, "\(result.problems)")
        #expect(Set(result.files.keys) == ["login.yml", "seats.yml", "identity.yml", "egress.yml", "gate.yml"])
        #expect(result.ignored == ["README.md"])
        #expect(result.policy?.seats == SeatPolicy())
        #expect(result.policy?.egress == EgressPolicy.shipped)
        // gate.yml spells out the built-in default.
        #expect(result.policy?.gate == GatePolicy.shipped)
    }

    @Test func everyProblemIsReportedWithFileAndLine() {
        let result = PolicyLoader.parse(files: [
            "login.yml": """
            login:
              admins: ["github:alice", "myspace:tom"]
              deny: [mallory]
              github: {allowed_orgs: [acme], allowed_teams: [backend]}
              gitlab: {allowed_team: [x]}
            """,
            "seats.yml": """
            seats:
              auto_activate: maybe
              overage_percent: 150
            """,
            "identity.yml": """
            identity:
              link_by: [email, phone]
              templates: {github: "acme_{login}"}
            """,
            "broken.yml": "login: [unclosed\n",
        ])
        #expect(result.policy == nil)
        let expected = [
            "login.yml: line 2: login.admins: \"myspace:tom\" is not provider:username",
            "login.yml: line 3: login.deny: \"mallory\" is not provider:username",
            "login.yml: line 4: login.github.allowed_teams: \"backend\" is not org/team",
            "login.yml: line 5: login.gitlab.allowed_team: unknown key",
            "seats.yml: line 2: seats.auto_activate: expected true or false",
            "seats.yml: line 3: seats.overage_percent: expected a whole number from 0 to 100",
            "identity.yml: line 2: identity.link_by: \"phone\" is not one of email, template",
            "identity.yml: line 3: identity.templates.github: a template contains {uid} exactly once",
            "broken.yml: line ",
        ]
        for fragment in expected {
            #expect(result.problems.contains { $0.hasPrefix(fragment) }, "missing \(fragment) in \(result.problems)")
        }
        #expect(result.problems.count == expected.count, "\(result.problems)")
    }

    @Test func sectionsMayNotBeDefinedTwice() {
        let result = PolicyLoader.parse(files: ["a.yml": "seats: {auto_activate: true}\n", "b.yml": "seats: {auto_activate: false}\n"])
        #expect(result.problems == ["b.yml: line 1: seats: already defined in a.yml"])
    }

    @Test func applyIsVersionedAndAudited() async throws {
        let (dir, gatehouse, _) = try await gatehouseWithLicense()
        let policies = dir.file("p")
        try FileManager.default.createDirectory(atPath: policies, withIntermediateDirectories: true)
        try "login: {deny: [\"github:mallory\"]}\n".write(toFile: policies + "/login.yml", atomically: true, encoding: .utf8)
        let first = try await gatehouse.applyPolicies(directory: policies, actor: "cli:alice")
        #expect(try await gatehouse.authorizeLogin(login("github:mallory"), actor: "t").reason == .deniedByPolicy)
        // Applying the same set again records nothing new.
        _ = try await gatehouse.applyPolicies(directory: policies, actor: "cli:alice")
        var applied = try await gatehouse.auditEntries(AuditQuery(action: "policy.apply"))
        #expect(applied.count == 1)
        #expect(applied[0].details.contains(first.sha256))
        #expect(applied[0].actor == "cli:alice")
        let shown = try await gatehouse.policyInForce()
        #expect(shown["sha256"] == .string(first.sha256))
        #expect(shown["applied_by"] == "cli:alice")
        // A broken set is refused and the set in force stays.
        try "login: {deny: [mallory]}\n".write(toFile: policies + "/login.yml", atomically: true, encoding: .utf8)
        await #expect(throws: GatehouseError.self) { try await gatehouse.applyPolicies(directory: policies, actor: "cli:alice") }
        #expect(try await gatehouse.policyInForce()["sha256"] == .string(first.sha256))
        try "login: {deny: []}\n".write(toFile: policies + "/login.yml", atomically: true, encoding: .utf8)
        _ = try await gatehouse.applyPolicies(directory: policies, actor: "cli:bob")
        applied = try await gatehouse.auditEntries(AuditQuery(action: "policy.apply"))
        #expect(applied.count == 2)
        #expect(try await gatehouse.authorizeLogin(login("github:mallory"), actor: "t").allow)
    }
}
