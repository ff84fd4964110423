import Crypto
import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import GatehouseStorage
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    // GitHub's published example ("Validating webhook deliveries").
    let secret = "It's a Secret to Everybody"
    let body = Array("Hello, World!".utf8)
    let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    @Test func githubTestVector() {
        #expect(WebhookSignature.verifyGitHub(body: body, header: signature, secret: secret) == nil)
    }

    @Test func refusals() {
        #expect(WebhookSignature.verifyGitHub(body: body, header: signature, secret: "another secret") == .badSignature)
        #expect(WebhookSignature.verifyGitHub(body: body, header: nil, secret: secret) == .missingSignature)
        #expect(WebhookSignature.verifyGitHub(body: body, header: "", secret: secret) == .missingSignature)
        #expect(WebhookSignature.verifyGitHub(body: body, header: "sha1=0a4d55a8d778e5022fab701977c5d840bbc486d0", secret: secret) == .unsupportedAlgorithm)
        #expect(WebhookSignature.verifyGitHub(body: body, header: "sha256=zz", secret: secret) == .badSignature)
        for index in body.indices {
            var altered = body
            altered[index] ^= 0x01
            #expect(WebhookSignature.verifyGitHub(body: altered, header: signature, secret: secret) == .badSignature)
        }
        #expect(WebhookSignature.verifyGitLab(header: "t0ken", token: "t0ken") == nil)
        #expect(WebhookSignature.verifyGitLab(header: "t0ken ", token: "t0ken") == .badSignature)
        #expect(WebhookSignature.verifyGitLab(header: nil, token: "t0ken") == .missingSignature)
    }
}

@Suite("Membership webhooks over HTTP")
struct WebhookHTTPTests {
    static let secret = "whsec-test"
    static let gitlabToken = "glt-test"

    static func sign(_ body: String, secret: String = secret) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + hexString(mac)
    }

    static func organization(_ action: String, login: String = "alice", id: Int = 101, org: String = "acme") -> String {
        #"{"action":"\#(action)","membership":{"user":{"login":"\#(login)","id":\#(id)}},"organization":{"login":"\#(org)"}}"#
    }

    func setUp(clock: TestClock = TestClock(ts("2026-11-10T00:00:00Z"))) async throws -> (Gatehouse, any ApplicationProtocol) {
        let dir = try TempDir()
        let vendor = TestVendor()
        let store = try SQLStore.sqlite(path: dir.file("gatehouse.db"), create: true)
        let gatehouse = Gatehouse(
            store: store, trustedKeys: vendor.trusted, instanceHost: "codecov.acme.internal",
            webhooks: WebhookSecrets(github: Self.secret, gitlab: Self.gitlabToken), now: { clock.now })
        _ = try await gatehouse.migrate(actor: "test")
        _ = try await gatehouse.installLicense(text: vendor.signUnchecked(TestVendor.terms()), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        try FileManager.default.createDirectory(atPath: dir.file("p"), withIntermediateDirectories: true)
        try "login:\n  github: {allowed_orgs: [acme]}\n  gitlab: {allowed_groups: [acme]}\n".write(toFile: dir.file("p/login.yml"), atomically: true, encoding: .utf8)
        _ = try await gatehouse.applyPolicies(directory: dir.file("p"), actor: "test")
        try await expectMemoryFollowsWrites(gatehouse)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = Application(router: buildRouter(gatehouse: gatehouse, metrics: GatehouseMetrics()), logger: logger)
        return (gatehouse, app)
    }

    func post(_ client: some TestClientProtocol, _ body: String, event: String = "organization", delivery: String, signature: String? = nil) async throws -> (Int, JSONValue?) {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[HTTPField.Name("X-Hub-Signature-256")!] = signature ?? Self.sign(body)
        headers[HTTPField.Name("X-GitHub-Event")!] = event
        headers[HTTPField.Name("X-GitHub-Delivery")!] = delivery
        return try await client.execute(uri: "/v1/webhooks/github", method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
            (Int(response.status.code), try? JSONValue.parse(Array(response.body.readableBytesView)))
        }
    }

    @Test func removalFromTheOrgEndsLoginAndReleasesTheSeat() async throws {
        let (gatehouse, app) = try await setUp()
        let alice = login("github:alice", externalID: "101", orgs: ["acme"])
        #expect(try await gatehouse.authorizeLogin(alice, actor: "t").allow)
        try await app.test(.router) { client in
            let (status, body) = try await post(client, Self.organization("member_removed"), delivery: "d-1")
            #expect(status == 200)
            #expect(body?["status"] == "applied")
            // Replaying the same delivery changes nothing.
            let entries = try await gatehouse.auditEntries(AuditQuery()).count
            let (again, replay) = try await post(client, Self.organization("member_removed"), delivery: "d-1")
            #expect(again == 200 && replay?["status"] == "duplicate")
            #expect(try await gatehouse.auditEntries(AuditQuery()).count == entries)
        }
        try await expectMemoryFollowsWrites(gatehouse)
        // The seat went back, and a stale org claim in the login request no longer lets her in.
        #expect(try await gatehouse.user("github:alice").person.seat == .none)
        #expect(try await gatehouse.authorizeLogin(alice, actor: "t").reason == .notInAllowedOrg)
        let release = try #require(try await gatehouse.auditEntries(AuditQuery(action: "seat.deactivate")).last)
        #expect(release.actor == "webhook:github")
        // Added back: in again.
        try await app.test(.router) { client in
            let (status, _) = try await post(client, Self.organization("member_added"), delivery: "d-2")
            #expect(status == 200)
        }
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(try await gatehouse.authorizeLogin(login("github:alice", externalID: "101"), actor: "t").allow)
    }

    @Test func refusedAndIgnoredDeliveriesChangeNothing() async throws {
        let (gatehouse, app) = try await setUp()
        _ = try await gatehouse.authorizeLogin(login("github:alice", externalID: "101", orgs: ["acme"]), actor: "t")
        try await expectMemoryFollowsWrites(gatehouse)
        let before = try await gatehouse.auditEntries(AuditQuery()).count
        let removal = Self.organization("member_removed")
        try await app.test(.router) { client in
            #expect(try await post(client, removal, delivery: "x1", signature: Self.sign(removal, secret: "wrong")).0 == 401)
            #expect(try await post(client, removal, delivery: "x2", signature: "").0 == 401)
            #expect(try await post(client, removal, delivery: "x3", signature: "sha1=" + String(repeating: "0", count: 40)).0 == 401)
            let altered = removal.replacingOccurrences(of: "member_removed", with: "member_removes")
            #expect(try await post(client, altered, delivery: "x4", signature: Self.sign(removal)).0 == 401)
            #expect(try await post(client, "{not json", delivery: "x5").0 == 400)
            #expect(try await post(client, #"{"action":"member_removed"}"#, delivery: "x6").0 == 422)
            let (pushStatus, push) = try await post(client, #"{"ref":"refs/heads/main"}"#, event: "push", delivery: "x7")
            #expect(pushStatus == 202 && push?["status"] == "ignored")
            // Someone Gatehouse has never seen: nothing to change.
            #expect(try await post(client, Self.organization("member_removed", login: "stranger", id: 999), delivery: "x8").0 == 202)
        }
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(try await gatehouse.auditEntries(AuditQuery()).count == before)
        #expect(try await gatehouse.user("github:alice").person.seat == .active)
    }

    @Test func gitlabGroupMemberEvents() async throws {
        let (gatehouse, app) = try await setUp()
        _ = try await gatehouse.authorizeLogin(login("gitlab:carol", orgs: ["acme"]), actor: "t")
        try await expectMemoryFollowsWrites(gatehouse)
        let body = #"{"event_name":"user_remove_from_group","group_path":"acme","user_username":"carol","user_id":7}"#
        try await app.test(.router) { client in
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[HTTPField.Name("X-Gitlab-Token")!] = "wrong"
            try await client.execute(uri: "/v1/webhooks/gitlab", method: .post, headers: headers, body: ByteBuffer(string: body)) { #expect($0.status == .unauthorized) }
            headers[HTTPField.Name("X-Gitlab-Token")!] = Self.gitlabToken
            headers[HTTPField.Name("X-Gitlab-Event-UUID")!] = "g-1"
            try await client.execute(uri: "/v1/webhooks/gitlab", method: .post, headers: headers, body: ByteBuffer(string: body)) { #expect($0.status == .ok) }
        }
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(try await gatehouse.authorizeLogin(login("gitlab:carol", orgs: ["acme"]), actor: "t").reason == .notInAllowedGroup)
    }

    @Test func aCapturedBodyResentUnderANewDeliveryIdChangesNothing() async throws {
        let clock = TestClock(ts("2026-11-10T00:00:00Z"))
        let (gatehouse, app) = try await setUp(clock: clock)
        let alice = login("github:alice", externalID: "101", orgs: ["acme"])
        #expect(try await gatehouse.authorizeLogin(alice, actor: "t").allow)
        let added = Self.organization("member_added")
        try await app.test(.router) { client in
            #expect(try await post(client, added, delivery: "d-1").1?["status"] == "applied")
            #expect(try await post(client, Self.organization("member_removed"), delivery: "d-2").1?["status"] == "applied")
            // The signed member_added, captured, sent again with another X-GitHub-Delivery.
            let entries = try await gatehouse.auditEntries(AuditQuery()).count
            let (status, body) = try await post(client, added, delivery: "d-3-forged")
            #expect(status == 200)
            #expect(body?["status"] == "duplicate")
            #expect(body?["message"]?.string.contains("already applied as delivery d-1") == true, "\(String(describing: body))")
            #expect(try await gatehouse.auditEntries(AuditQuery()).count == entries)
        }
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(try await gatehouse.authorizeLogin(alice, actor: "t").reason == .notInAllowedOrg)
        // GitHub redelivers for three days; past that the same body is a new event (GitHub
        // dates nothing it signs): she is added back for real.
        clock.set(ts("2026-11-13T00:00:01Z"))
        try await app.test(.router) { client in
            let readded = try await post(client, added, delivery: "d-4")
            #expect(readded.1?["status"] == "applied")
        }
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(try await gatehouse.authorizeLogin(alice, actor: "t").allow)
    }

    @Test func gitlabEventsOlderThanTheNewestAppliedForTheMembershipAreIgnored() async throws {
        let (gatehouse, app) = try await setUp()
        let carol = login("gitlab:carol", orgs: ["acme"])
        #expect(try await gatehouse.authorizeLogin(carol, actor: "t").allow)
        try await app.test(.router) { client in
            #expect(try await Self.postGitLab(client, Self.gitlabEvent("user_add_to_group", updated: "2026-11-05T09:00:00Z"), uuid: "g-1")?["status"] == "applied")
            // Removed: GitLab dates the removal by the membership it ends.
            #expect(try await Self.postGitLab(client, Self.gitlabEvent("user_remove_from_group", updated: "2026-11-05T09:00:00Z"), uuid: "g-2")?["status"] == "applied")
            // An older addition, resent: stale. The same body again under a new id: a replay.
            let stale = try await Self.postGitLab(client, Self.gitlabEvent("user_add_to_group", updated: "2026-11-02T09:00:00Z"), uuid: "g-3")
            #expect(stale?["status"] == "ignored")
            #expect(stale?["message"]?.string.contains("before the newest applied") == true, "\(String(describing: stale))")
            #expect(try await Self.postGitLab(client, Self.gitlabEvent("user_add_to_group", updated: "2026-11-05T09:00:00Z"), uuid: "g-4")?["status"] == "duplicate")
        }
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(try await gatehouse.authorizeLogin(carol, actor: "t").reason == .notInAllowedGroup)
        try await app.test(.router) { client in
            // Added back (a new membership, dated later): in; then an old removal arrives late: ignored.
            let readded = try await Self.postGitLab(client, Self.gitlabEvent("user_add_to_group", updated: "2026-11-08T09:00:00Z"), uuid: "g-5")
            #expect(readded?["status"] == "applied")
            #expect(try await Self.postGitLab(client, Self.gitlabEvent("user_remove_from_group", updated: "2026-11-03T09:00:00Z"), uuid: "g-6")?["status"] == "ignored")
            // A retry of a stale delivery's id is a duplicate like any other.
            #expect(try await Self.postGitLab(client, Self.gitlabEvent("user_add_to_group", updated: "2026-11-02T09:00:00Z"), uuid: "g-3")?["status"] == "duplicate")
        }
        try await expectMemoryFollowsWrites(gatehouse)
        #expect(try await gatehouse.authorizeLogin(carol, actor: "t").allow)
        #expect(try await gatehouse.auditEntries(AuditQuery(action: "membership.add")).count == 2)
        #expect(try await gatehouse.auditEntries(AuditQuery(action: "membership.remove")).count == 1)
    }

    static func gitlabEvent(_ name: String, updated: String) -> String {
        #"{"event_name":"\#(name)","group_path":"acme","user_username":"carol","user_id":7,"created_at":"2026-11-01T09:00:00Z","updated_at":"\#(updated)"}"#
    }

    static func postGitLab(_ client: some TestClientProtocol, _ body: String, uuid: String) async throws -> JSONValue? {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[HTTPField.Name("X-Gitlab-Token")!] = gitlabToken
        headers[HTTPField.Name("X-Gitlab-Event-UUID")!] = uuid
        return try await client.execute(uri: "/v1/webhooks/gitlab", method: .post, headers: headers, body: ByteBuffer(string: body)) {
            try? JSONValue.parse(Array($0.body.readableBytesView))
        }
    }

    @Test func unconfiguredWebhooksAreNotFound() async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = Application(router: buildRouter(gatehouse: gatehouse, metrics: GatehouseMetrics()), logger: logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/webhooks/github", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status == .notFound)
            }
        }
        try await expectMemoryFollowsWrites(gatehouse)
    }
}
