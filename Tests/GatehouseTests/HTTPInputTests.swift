import Foundation
import GatehouseDomain
import NIOHTTP1
import Testing

/// Issue 16, faults 6, 7 and 11: malformed HTTP bodies are the client's mistake (400, never
/// 500); secrets in query strings never reach the log; a body that is not JSON is refused
/// (415), not parsed as JSON.
@Suite("What the API does with odd requests")
struct HTTPInputTests {
    static func exchange(_ port: Int, _ request: String) async throws -> String {
        try await blocking {
            let client = try RawClient(port: port, timeout: 5)
            client.send(request)
            return String(decoding: client.readToEnd(), as: UTF8.self)
        }
    }

    @Test func malformedChunkedBodiesAre400AndSecretsAreNotLogged() async throws {
        let cli = try CLI()
        try cli.setUp(terms: CLITests.currentTerms(seats: 10))
        _ = try cli.dir.write("hook.secret", "s3cret\n")
        let config = try String(contentsOfFile: cli.dir.file("gatehouse.yml"), encoding: .utf8)
        _ = try cli.dir.write("gatehouse.yml", config + "webhooks:\n  github: {secret_file: hook.secret}\n")
        let token = try cli.token("codecov", scope: "authorize")
        var environment = cli.environment
        environment["LOG_LEVEL"] = "debug"
        let replica = try await Replica.start(in: cli.dir, environment: environment)
        defer { replica.kill() }
        let port = replica.port

        // A chunk size of "zz", unauthenticated, on a webhook.
        let zz = try await Self.exchange(
            port,
            "POST /v1/webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nX-Hub-Signature-256: sha256=00\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
        )
        #expect(zz.hasPrefix("HTTP/1.1 400"), "\(zz)")
        #expect(zz.contains("malformed_request"))
        // A chunk size that overflows, on a decision.
        let overflow = try await Self.exchange(
            port,
            "POST /v1/authorize/egress HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"
        )
        #expect(overflow.hasPrefix("HTTP/1.1 400"), "\(overflow)")
        #expect(!replica.output.contains("unhandled error"))

        // A token in a query string (and a sign-in's code) never reaches the debug log.
        let secret = "gth_QUERYSECRETQUERYSECRETQUERYSECRET0000"
        _ = try await HTTPProbe.request(.GET, replica.base + "/v1/license?access_token=\(secret)")
        _ = try await HTTPProbe.request(.GET, replica.base + "/healthz?code=CODESECRET&state=STATESECRET")
        let logged = try await eventually(5) { replica.output.contains("path=/healthz") }
        #expect(logged, "no request was logged at debug level")
        for leaked in [secret, "CODESECRET", "STATESECRET", token] { #expect(!replica.output.contains(leaked), "\(leaked) was logged") }

        // Bodies that say they are something else are refused, not parsed as JSON.
        let login = #"{"provider":"github","username":"alice"}"#
        for type in ["text/plain", "application/x-www-form-urlencoded", "text/html; charset=utf-8"] {
            let answer = try await HTTPProbe.request(
                .POST, replica.base + "/v1/authorize/login", headers: [("Authorization", "Bearer \(token)"), ("Content-Type", type)],
                body: login)
            #expect(answer.status == 415, "\(type): \(answer.status)")
            #expect(answer.body.contains("unsupported_media_type"))
        }
        for type in ["application/json", "application/json; charset=utf-8", "application/vnd.codecov+json"] {
            let answer = try await HTTPProbe.request(
                .POST, replica.base + "/v1/authorize/login", headers: [("Authorization", "Bearer \(token)"), ("Content-Type", type)],
                body: login)
            #expect(answer.status == 200, "\(type): \(answer.status) \(answer.body)")
        }
        let form = try await HTTPProbe.request(
            .POST, replica.base + "/v1/webhooks/github", headers: [("Content-Type", "application/x-www-form-urlencoded")],
            body: "payload=%7B%7D")
        #expect(form.status == 415)
        #expect(form.body.contains("application/json"))
    }
}
