import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// Issue 16, faults 8 and 11: usernames a provider would never hand out — invisible
/// characters, path tricks, a leading hyphen — make no person and no seat, and do not slip
/// past the deny list; an administrator cannot give a seat to someone on it.
@Suite("Usernames as providers hand them out")
struct UsernameTests {
    @Test(arguments: [
        ("github", "mallory\u{200B}"), ("github", "alice\u{00AD}"), ("github", "a\u{202E}b"), ("github", "bob\u{200D}"), ("github", "../"),
        ("github", "-lead"), ("github", "trail-"), ("github", "a.b"), ("gitlab", ".hidden"), ("gitlab", "x.git"), ("gitlab", "a b"),
        ("oidc", "carol\u{FEFF}"), ("ldap", "x\u{2060}y"), ("ldap", "a/b"), ("scim", "-x"), ("bitbucket", "a#b"), ("github", "a\\b"),
    ])
    func refused(_ provider: String, _ username: String) {
        #expect(
            IdentityRef.parse("\(provider):\(username)") == nil,
            "\(provider):\(username.unicodeScalars.map { String($0.value, radix: 16) })")
    }

    @Test(arguments: [
        "github:alice", "github:Alice-Smith", "github:alice_acme", "github_enterprise:a1", "gitlab:alice.smith", "gitlab:_bot",
        "gitlab:a-b_c.d", "bitbucket:alice@acme", "ldap:alice", "oidc:alice@acme.com", "scim:Alice.Smith@acme.com", "oidc:ålice",
    ])
    func accepted(_ text: String) { #expect(IdentityRef.parse(text) != nil, "\(text)") }

    @Test func theAPIRefusesThemAndChangesNothing() async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(
            engine: .sqlite, policy: ["login.yml": "login:\n  deny: [\"github:mallory\"]\n"])
        let authz = try await gatehouse.createToken(name: "codecov", scope: .authorize, actor: "test").secret
        let admin = try await gatehouse.createToken(name: "admin", scope: .admin, actor: "test").secret
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = Application(router: buildRouter(gatehouse: gatehouse, metrics: GatehouseMetrics()), logger: logger)
        try await app.test(.router) { client in
            for name in ["mallory\\u200b", "alice\\u00ad", "a\\u202eb", "bob\\u200d", "-lead", "../x"] {
                try await client.execute(
                    uri: "/v1/authorize/login", method: .post, headers: [.authorization: "Bearer \(authz)"],
                    body: ByteBuffer(string: #"{"provider":"github","username":"\#(name)"}"#)
                ) { response in
                    #expect(response.status == .unprocessableContent, "\(name): \(response.status)")
                }
            }
            for user in ["github:..%2F", "github:-lead", "github:mallory%E2%80%8B"] {
                try await client.execute(uri: "/v1/seats/\(user)/activate", method: .post, headers: [.authorization: "Bearer \(admin)"]) {
                    response in
                    #expect(response.status == .badRequest, "\(user): \(response.status)")
                }
            }
            // On the deny list: no seat, even from an administrator.
            try await client.execute(uri: "/v1/seats/github:mallory/activate", method: .post, headers: [.authorization: "Bearer \(admin)"])
            {
                response in
                #expect(response.status == .conflict)
                #expect(String(buffer: response.body).contains("denied_by_policy"))
            }
        }
        #expect(try await gatehouse.users(seat: nil, inactiveDays: nil).isEmpty, "a person was created")
    }
}
