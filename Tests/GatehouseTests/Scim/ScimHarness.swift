import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// A Gatehouse with a license, policies that link SCIM people to logins by e-mail and
/// restrict SCIM people to the group `engineering`, a token of scope `scim`, and the real router.
struct ScimFixture {
    static let policy = [
        "identity.yml": "identity:\n  link_by: [email]\n",
        "login.yml": "login:\n  scim: {allowed_groups: [engineering]}\n",
        "seats.yml": "seats:\n  auto_activate: true\n",
    ]

    let dir: TempDir
    let gatehouse: Gatehouse
    let vendor: TestVendor
    let token: String
    let admin: String
    let clock = TestClock(ts("2026-11-10T00:00:00Z"))

    init(
        engine: Engine = .sqlite, removal: ScimRemovalGuard? = ScimRemovalGuard(maxPercent: 100),
        policy: [String: String] = ScimFixture.policy
    )
        async throws
    {
        (dir, gatehouse, vendor) = try await gatehouseWithLicense(engine: engine, policy: policy, clock: clock, scimRemoval: removal)
        token = try await gatehouse.createToken(name: "okta", scope: .scim, actor: "test").secret
        admin = try await gatehouse.createToken(name: "admin", scope: .admin, actor: "test").secret
    }

    var app: some ApplicationProtocol {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return buildApplication(gatehouse: gatehouse, settings: HTTPSettings(host: "127.0.0.1", port: 0), logger: logger)
    }

    struct Answer {
        var status: Int
        var body: JSONValue?
        var headers: HTTPFields
        var etag: String? { headers[.eTag] }
        var id: String { body?["id"]?.stringValue ?? "" }
        var detail: String { body?["detail"]?.stringValue ?? "" }
        var scimType: String? { body?["scimType"]?.stringValue }
        var total: Int64? { if case .int(let n)? = body?["totalResults"] { n } else { nil } }
        var resources: [JSONValue] { if case .array(let r)? = body?["Resources"] { r } else { [] } }
    }

    /// One SCIM request with this fixture's token (or `token`).
    func call(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, _ body: JSONValue? = nil, raw: String? = nil,
        token: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = extra
        headers[.authorization] = "Bearer \(token ?? self.token)"
        if body != nil || raw != nil { headers[.contentType] = "application/scim+json" }
        let buffer = (raw ?? body?.canonicalText).map { ByteBuffer(string: $0) }
        return try await client.execute(uri: "/scim/v2" + path, method: method, headers: headers, body: buffer) { response in
            let text = String(buffer: response.body)
            let parsed = text.isEmpty ? nil : try? JSONValue.parse(text)
            if !text.isEmpty {
                #expect(response.headers[.contentType] == "application/scim+json", "\(method) \(path)")
                #expect(parsed != nil, "\(method) \(path): not JSON: \(text.prefix(200))")
            }
            return Answer(status: Int(response.status.code), body: parsed, headers: response.headers)
        }
    }

    /// Whether the answer is a SCIM error body with this status.
    static func isError(_ answer: Answer, _ status: Int, _ scimType: String? = nil) -> Bool {
        answer.status == status && answer.body?["schemas"] == [.string(ScimSchemas.errorURN)]
            && answer.body?["status"] == .string(String(status))
            && (scimType == nil || answer.scimType == scimType)
    }

    static func user(
        _ userName: String, email: String? = nil, given: String = "Ada", family: String = "Lovelace", externalID: String? = nil
    )
        -> JSONValue
    {
        var fields: [String: JSONValue] = [
            "schemas": [.string(ScimSchemas.userURN)], "userName": .string(userName), "active": true,
            "name": ["givenName": .string(given), "familyName": .string(family)],
        ]
        if let email { fields["emails"] = [["value": .string(email), "type": "work", "primary": true]] }
        if let externalID { fields["externalId"] = .string(externalID) }
        return .object(fields)
    }

    static func group(_ name: String, members: [String] = []) -> JSONValue {
        [
            "schemas": [.string(ScimSchemas.groupURN)], "displayName": .string(name),
            "members": .array(members.map { ["value": .string($0)] }),
        ]
    }

    static func patch(_ operations: JSONValue...) -> JSONValue {
        ["schemas": [.string(ScimSchemas.patchURN)], "Operations": .array(operations)]
    }

    static func query(_ filter: String) -> String {
        filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? filter
    }

    func clockAdvance(_ seconds: Double) { clock.set(clock.now.addingTimeInterval(seconds)) }

    func decide(_ identity: String, email: String? = nil) async throws -> DecisionResult {
        try await gatehouse.authorizeLogin(login(identity, email: email), actor: "test")
    }
}
