import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A plain HTTP client for tests: never follows redirects (a test looks at each one), keeps
/// no cookies of its own (a test sends exactly the cookies it means to).
enum HTTPProbe {
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(30)))
        // One client serves every test's servers, which come and go (and reuse ports): an idle
        // pooled connection is dropped after a second rather than reused as its server closes it.
        configuration.connectionPool = .init(idleTimeout: .seconds(1))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        func header(_ name: String) -> String? { headers.first(name: name) }
        var location: String? { header("Location") }
        /// `name=value` of each Set-Cookie, by name.
        var cookies: [String: String] {
            var result: [String: String] = [:]
            for line in headers["Set-Cookie"] {
                let pair = line.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
                if let eq = pair.firstIndex(of: "=") { result[String(pair[..<eq])] = String(pair[pair.index(after: eq)...]) }
            }
            return result
        }
    }

    static func request(
        _ method: HTTPMethod = .GET, _ url: String, headers: [(String, String)] = [], body: String? = nil
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        do {
            return try await execute(request)
        } catch let error as HTTPClientError where (method == .GET || method == .HEAD) && error == .remoteConnectionClosed {
            // A keep-alive connection the server closed just as it was reused: what browsers do
            // for an idempotent request, once.
            return try await execute(request)
        }
    }

    private static func execute(_ request: HTTPClientRequest) async throws -> Answer {
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 8 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// A form POST.
    static func post(_ url: String, form: [(String, String)], headers: [(String, String)] = []) async throws -> Answer {
        let body = form.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        return try await request(.POST, url, headers: headers + [("Content-Type", "application/x-www-form-urlencoded")], body: body)
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}
