import AsyncHTTPClient
import Foundation
import GatehouseDomain
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Synchronization

/// Outbound HTTP to one provider: no redirects followed (a token endpoint that redirects is
/// refused, not chased to another host), bounded connect and answer times, answers capped at
/// 4 MiB, JSON read by Gatehouse's strict parser.
struct ProviderHTTP: Sendable {
    let client: HTTPClient
    let providerName: String
    static let timeout: TimeAmount = .seconds(10)
    static let maxBody = 4 << 20

    /// Clients live as long as the process (one per CA bundle), like AsyncHTTPClient's shared one.
    private static let clients = Mutex([String: HTTPClient]())

    init(providerName: String, caFile: String?) {
        self.providerName = providerName
        client = Self.clients.withLock { clients in
            if let existing = clients[caFile ?? ""] { return existing }
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile { tls.trustRoots = .file(caFile) }
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: HTTPClient.Configuration(
                    tlsConfiguration: tls, redirectConfiguration: .disallow,
                    timeout: .init(connect: .seconds(5), read: .seconds(10))))
            clients[caFile ?? ""] = client
            return client
        }
    }

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer

        var json: JSONValue? { try? JSONValue.parse(body.readableBytesView) }
        var text: String { String(buffer: body) }
    }

    func get(_ url: String, bearer: String? = nil, accept: String = "application/json", extraHeaders: [(String, String)] = [])
        async throws(SignInError) -> Answer
    {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "User-Agent", value: "gatehouse")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
        return try await send(request, what: url)
    }

    func postForm(_ url: String, _ fields: [(String, String)], basicAuth: (String, String)? = nil) async throws(SignInError) -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "gatehouse")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        if let (user, password) = basicAuth {
            // RFC 6749 2.3.1: both parts form-encoded before Basic encoding.
            let credentials = Data((Self.formEncode(user) + ":" + Self.formEncode(password)).utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(credentials)")
        }
        request.body = .bytes(ByteBuffer(string: fields.map { Self.formEncode($0.0) + "=" + Self.formEncode($0.1) }.joined(separator: "&")))
        return try await send(request, what: url)
    }

    private func send(_ request: HTTPClientRequest, what url: String) async throws(SignInError) -> Answer {
        do {
            let response = try await client.execute(request, timeout: Self.timeout)
            let body = try await response.body.collect(upTo: Self.maxBody)
            return Answer(status: Int(response.status.code), headers: response.headers, body: body)
        } catch let error as SignInError {
            throw error
        } catch {
            throw SignInError(
                .providerUnavailable, "\(providerName): \(Self.withoutQuery(url)) could not be reached (\(Self.describe(error)))")
        }
    }

    /// A URL for messages: never its query (which may carry a code or a token).
    static func withoutQuery(_ url: String) -> String { String(url.prefix { $0 != "?" }) }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        if let error = error as? NIOSSLError { return "TLS: \(error)" }
        return String(describing: type(of: error)) + ": " + String(describing: error).prefix(200)
    }

    /// `application/x-www-form-urlencoded` (and query) encoding: unreserved characters kept.
    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// `base?key=value&…` (appending to an existing query).
    static func url(_ base: String, _ query: [(String, String)]) -> String {
        base + (base.contains("?") ? "&" : "?") + query.map { formEncode($0.0) + "=" + formEncode($0.1) }.joined(separator: "&")
    }

    /// The `rel="next"` target of a Link header (RFC 8288), as GitHub and GitLab paginate.
    static func nextLink(_ headers: HTTPHeaders) -> String? {
        for header in headers["Link"] {
            for part in header.split(separator: ",") {
                let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let target = pieces.first, target.hasPrefix("<"), target.hasSuffix(">"),
                    pieces.dropFirst().contains(where: { $0.replacingOccurrences(of: " ", with: "") == "rel=\"next\"" || $0 == "rel=next" })
                else { continue }
                return String(target.dropFirst().dropLast())
            }
        }
        return nil
    }

    /// Reads every page of a paginated list (at most `maxPages`), following `rel="next"`
    /// links that stay on the first page's origin.
    func pages(_ first: String, bearer: String, extraHeaders: [(String, String)] = [], maxPages: Int = 50) async throws(SignInError)
        -> [JSONValue]
    {
        var items: [JSONValue] = []
        var url: String? = first
        var count = 0
        let origin = Self.origin(first)
        while let next = url, count < maxPages {
            let answer = try await get(next, bearer: bearer, extraHeaders: extraHeaders)
            guard answer.status == 200 else { throw refusal(answer, reading: next) }
            guard case .array(let page)? = answer.json else {
                throw SignInError(.providerUnavailable, "\(providerName): \(Self.withoutQuery(next)) did not answer with a JSON list")
            }
            items += page
            count += 1
            url = Self.nextLink(answer.headers).flatMap { Self.origin($0) == origin ? $0 : nil }
            if url == nil, let page = answer.headers.first(name: "X-Next-Page"), !page.isEmpty, let number = Int(page) {
                url = Self.replacingPage(next, with: number)
            }
        }
        return items
    }

    static func origin(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        return String(url[..<scheme.upperBound]) + String(rest.prefix { $0 != "/" && $0 != "?" })
    }

    static func replacingPage(_ url: String, with page: Int) -> String {
        guard var components = URLComponents(string: url) else { return url }
        var items = (components.queryItems ?? []).filter { $0.name != "page" }
        items.append(URLQueryItem(name: "page", value: String(page)))
        components.queryItems = items
        return components.string ?? url
    }

    /// The error for a non-success answer from an API read with the person's token.
    func refusal(_ answer: Answer, reading url: String) -> SignInError {
        if answer.status == 401 || answer.status == 403 {
            return SignInError(
                .tokenRefused,
                "\(providerName) refused the sign-in's token reading \(Self.withoutQuery(url)) (HTTP \(answer.status)): revoked, or missing a scope"
            )
        }
        return SignInError(.providerUnavailable, "\(providerName): \(Self.withoutQuery(url)) answered HTTP \(answer.status)")
    }
}

extension JSONValue {
    /// A string, or an integer as its digits (provider ids).
    var idText: String? {
        switch self {
        case .string(let s) where !s.isEmpty: s
        case .int(let i): String(i)
        default: nil
        }
    }
}
