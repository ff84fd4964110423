import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import GatehouseStorage
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

private func app(_ gatehouse: Gatehouse, catalog: RouteCatalog = RouteCatalog()) -> some ApplicationProtocol {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return Application(router: buildRouter(gatehouse: gatehouse, metrics: GatehouseMetrics(), catalog: catalog), logger: logger)
}

private func body(_ response: TestResponse) -> JSONValue? { try? JSONValue.parse(Array(response.body.readableBytesView)) }

@Suite("Decision and admin API")
struct DecisionAPITests {
    @Test(arguments: Engine.allCases) func loginAndUploadRoundTrip(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine, policy: [
            "login.yml": "login:\n  github: {allowed_orgs: [acme]}\n"
        ])
        let authz = try await gatehouse.createToken(name: "codecov", scope: .authorize, actor: "test").secret
        try await expectMemoryFollowsWrites(gatehouse)
        let admin = try await gatehouse.createToken(name: "admin", scope: .admin, actor: "test").secret
        try await expectMemoryFollowsWrites(gatehouse)
        let h: HTTPFields = [.authorization: "Bearer \(authz)"], a: HTTPFields = [.authorization: "Bearer \(admin)"]
        try await app(gatehouse).test(.router) { client in
            try await client.execute(uri: "/v1/authorize/login", method: .post, headers: h,
                body: ByteBuffer(string: #"{"provider":"github","username":"alice","external_id":101,"orgs":["acme"]}"#)) { response in
                #expect(response.status == .ok)
                let decision = body(response)
                #expect(decision?["allow"] == true)
                #expect(decision?["seat"] == "active")
                #expect(decision?["role"] == "user")
            }
            try await client.execute(uri: "/v1/authorize/login", method: .post, headers: h,
                body: ByteBuffer(string: #"{"provider":"github","username":"eve","orgs":["evil"]}"#)) { response in
                #expect(body(response) == ["allow": false, "reason": "not_in_allowed_org", "person": nil, "seat": "none", "role": "user"])
            }
            try await client.execute(uri: "/v1/authorize/upload", method: .post, headers: h,
                body: ByteBuffer(string: #"{"repository":{"owner":"acme","name":"api","private":true},"author":{"provider":"github","username":"alice"}}"#)) { response in
                #expect(body(response)?["allow"] == true)
            }
            // Admin views of what happened.
            try await client.execute(uri: "/v1/users/github%3Aalice", method: .get, headers: a) { response in
                #expect(response.status == .ok)
                #expect(body(response)?["seat"] == "active")
            }
            try await client.execute(uri: "/v1/users?seat=active", method: .get, headers: a) { response in
                #expect(body(response)?["count"] == 1)
            }
            try await client.execute(uri: "/v1/seats/github:bob/activate", method: .post, headers: a) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/v1/seats", method: .get, headers: a) { response in
                #expect(body(response)?["active"] == 2)
            }
            try await client.execute(uri: "/v1/seats/github:bob/deactivate", method: .post, headers: a) { response in
                #expect(body(response)?["seat"] == "none")
            }
            try await client.execute(uri: "/v1/seats/quote?add=10&on=2027-05-01", method: .get, headers: a) { response in
                #expect(body(response)?["amount_cents"] == 126_027)
            }
            try await client.execute(uri: "/v1/policy", method: .get, headers: a) { response in
                #expect(body(response)?["policy"]?["login"]?["restrictions"]?["github"]?["allowed_orgs"] == ["acme"])
            }
            // The decision token cannot administer; admin tokens cannot decide.
            try await client.execute(uri: "/v1/seats", method: .get, headers: h) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/v1/authorize/login", method: .post, headers: a, body: ByteBuffer(string: "{}")) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/v1/users/github:nobody", method: .get, headers: a) { #expect($0.status == .notFound) }
        }
    }

    static let badBodies: [(String, String, Int)] = [
        ("/v1/authorize/login", "", 400),
        ("/v1/authorize/login", "{", 400),
        ("/v1/authorize/login", "[1,2]", 422),
        ("/v1/authorize/login", "null", 422),
        ("/v1/authorize/login", #"{"provider":"github"}"#, 422),
        ("/v1/authorize/login", #"{"provider":"myspace","username":"a"}"#, 422),
        ("/v1/authorize/login", #"{"provider":1,"username":"a"}"#, 422),
        ("/v1/authorize/login", #"{"provider":"github","username":""}"#, 422),
        ("/v1/authorize/login", #"{"provider":"github","username":"a b"}"#, 422),
        ("/v1/authorize/login", #"{"provider":"github","username":"a","orgs":"acme"}"#, 422),
        ("/v1/authorize/login", #"{"provider":"github","username":"a","teams":["noslash"]}"#, 422),
        ("/v1/authorize/login", #"{"provider":"github","username":"a","external_id":{"x":1}}"#, 422),
        ("/v1/authorize/login", #"{"provider":"github","username":"a","admin":true}"#, 422),
        ("/v1/authorize/login", #"{"provider":"github","username":"a","username":"b"}"#, 400),
        ("/v1/authorize/upload", #"{"repository":{"owner":"a","name":"b"},"author":{"provider":"github","username":"a"}}"#, 422),
        ("/v1/authorize/upload", #"{"repository":{"owner":"a","name":"b","private":"yes"},"author":{"provider":"github","username":"a"}}"#, 422),
        ("/v1/authorize/upload", #"{"repository":"acme/api","author":{"provider":"github","username":"a"}}"#, 422),
        ("/v1/authorize/upload", #"{"repository":{"owner":"a","name":"b","private":true}}"#, 422),
        ("/v1/authorize/upload", "\u{FF}\u{FE}", 400),
    ]

    @Test(arguments: Engine.allCases) func badBodiesAreRefusedAndChangeNothing(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine)
        let authz = try await gatehouse.createToken(name: "codecov", scope: .authorize, actor: "test").secret
        try await expectMemoryFollowsWrites(gatehouse)
        let before = try await gatehouse.auditEntries(AuditQuery()).count
        try await app(gatehouse).test(.router) { client in
            for (path, text, expected) in Self.badBodies {
                try await client.execute(uri: path, method: .post, headers: [.authorization: "Bearer \(authz)"], body: ByteBuffer(string: text)) { response in
                    #expect(Int(response.status.code) == expected, "\(text) → \(response.status)")
                    #expect(body(response)?["error"]?["code"] != nil, "\(text)")
                }
            }
            let big = ByteBuffer(string: #"{"provider":"github","username":"a","orgs":[""# + String(repeating: "\"x\",", count: 300_000) + "\"y\"]}")
            try await client.execute(uri: "/v1/authorize/login", method: .post, headers: [.authorization: "Bearer \(authz)"], body: big) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
        #expect(try await gatehouse.auditEntries(AuditQuery()).count == before)
    }

    /// The OpenAPI document and the routes agree: every route documented, every documented
    /// route served.
    @Test(arguments: Engine.allCases) func openAPIDocumentMatchesTheRoutes(engine: Engine) async throws {
        let (_, gatehouse, _) = try await gatehouseWithLicense(engine: engine)
        let catalog = RouteCatalog()
        let application = app(gatehouse, catalog: catalog)
        try await application.test(.router) { client in
            let documented: Set<String> = try await client.execute(uri: "/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                let document = try #require(body(response))
                #expect(document["openapi"] == "3.1.0")
                guard case .object(let paths)? = document["paths"] else { return [] }
                var routes: Set<String> = []
                for (path, item) in paths {
                    guard case .object(let operations) = item else { continue }
                    for method in operations.keys { routes.insert("\(method.uppercased()) \(path)") }
                }
                return routes
            }
            #expect(documented == Set(catalog.routes), "undocumented: \(Set(catalog.routes).subtracting(documented)); not served: \(documented.subtracting(catalog.routes))")
            for route in documented {
                let parts = route.split(separator: " ")
                let path = String(parts[1]).replacingOccurrences(of: "{user}", with: "github:someone")
                try await client.execute(uri: path, method: HTTPRequest.Method(rawValue: String(parts[0]))!) { response in
                    // The router's own 404 says "not_found"; a served route may 404 with its own code.
                    #expect(body(response)?["error"]?["code"] != "not_found", "\(route) is documented but not served")
                    #expect(response.status.code < 500, "\(route) → \(response.status)")
                }
            }
        }
    }
}
