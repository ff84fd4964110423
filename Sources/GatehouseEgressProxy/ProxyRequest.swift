import Foundation
import GatehouseDomain
import NIOHTTP1

/// What a client asked the proxy for, read from the request head alone.
enum ProxyRequest {
    /// `CONNECT host:port`: a byte tunnel once allowed.
    case tunnel(EgressTarget)
    /// An absolute-URI plain HTTP request, forwarded in origin form with this Host header.
    case forward(EgressTarget, head: HTTPRequestHead)

    var target: EgressTarget {
        switch self {
        case .tunnel(let target), .forward(let target, _): target
        }
    }

    /// Reads a request head. Anything the proxy cannot read one way only — a second Host header,
    /// a Host header naming another destination than the request, a URI another client would
    /// read differently — is refused here, before any rule or resolver is consulted.
    static func read(_ head: HTTPRequestHead) -> Result<ProxyRequest, ProxyRefusal> {
        let hosts = head.headers["host"]
        guard hosts.count <= 1 else { return .failure(.badRequest("the request has more than one Host header")) }
        if head.method == .CONNECT {
            switch EgressTarget.parse(authority: head.uri, defaultPort: nil) {
            case .failure(let refusal):
                return .failure(.refused(.destinationNotAllowed, refusal.message, destination: EgressTarget.redacted(head.uri)))
            case .success(let target):
                // A Host header written as the CONNECT target itself (what clients send) names it.
                if let host = hosts.first, host != head.uri, let refusal = mismatch(host, target) { return .failure(refusal) }
                return .success(.tunnel(target))
            }
        }
        let uri = head.uri
        let lowered = uri.prefix(8).lowercased()
        guard lowered.hasPrefix("http://") else {
            if lowered.hasPrefix("https://") {
                return .failure(.badRequest("https:// destinations go through a CONNECT tunnel (the client's own TLS), not an absolute-URI request"))
            }
            return .failure(.badRequest("this is an egress proxy: send CONNECT host:port, or an absolute URI (GET http://host/path)"))
        }
        switch EgressTarget.parse(url: uri) {
        case .failure(let refusal):
            return .failure(.refused(.destinationNotAllowed, refusal.message, destination: EgressTarget.redacted(uri)))
        case .success(let target):
            if let refusal = mismatch(hosts.first, target) { return .failure(refusal) }
            return .success(.forward(target, head: originForm(head, target: target)))
        }
    }

    /// A Host header must name the request's own destination.
    static func mismatch(_ host: String?, _ target: EgressTarget) -> ProxyRefusal? {
        guard let host else { return nil }
        switch EgressTarget.parse(authority: host, defaultPort: target.port) {
        case .success(let named) where named == target: return nil
        default:
            return .refused(.hostHeaderMismatch, "the Host header (\(host.prefix(100))) names another destination than the request (\(target))", destination: target.description)
        }
    }

    /// Headers that concern one hop only (RFC 9110 section 7.6.1), never passed on.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "upgrade"]

    /// Removes hop-by-hop headers, including those the Connection header lists.
    static func endToEnd(_ headers: HTTPHeaders) -> HTTPHeaders {
        let listed = Set(headers["connection"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        var out = HTTPHeaders()
        for (name, value) in headers {
            let lower = name.lowercased()
            if hopByHop.contains(lower) || listed.contains(lower) { continue }
            out.add(name: name, value: value)
        }
        return out
    }

    /// The request as the destination should see it: origin-form URI, the Host header of the
    /// checked destination, one request per connection.
    static func originForm(_ head: HTTPRequestHead, target: EgressTarget) -> HTTPRequestHead {
        let afterScheme = head.uri.dropFirst("http://".count)
        var path = afterScheme.drop { $0 != "/" && $0 != "?" && $0 != "#" }
        if let hash = path.firstIndex(of: "#") { path = path[..<hash] }
        var uri = String(path)
        if uri.isEmpty || uri.hasPrefix("?") { uri = "/" + uri }
        var headers = endToEnd(head.headers)
        headers.replaceOrAdd(name: "host", value: target.port == 80 ? target.host.uriText : "\(target.host.uriText):\(target.port)")
        headers.replaceOrAdd(name: "connection", value: "close")
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: uri, headers: headers)
    }
}

extension EgressHost {
    /// The host as written in a URI: IPv6 in brackets.
    var uriText: String {
        if case .ip(.v6) = self { return "[\(self)]" }
        return description
    }
}

/// A request the proxy answers itself, with the reason in a header and the body.
struct ProxyRefusal: Error {
    var status: HTTPResponseStatus
    var code: String
    var message: String
    /// For a refusal by the egress policy: why, and where to (`host:port`, or what may be
    /// kept of an unreadable target). Malformed requests have neither.
    var reason: DecisionReason?
    var destination: String?

    static func badRequest(_ message: String) -> ProxyRefusal {
        ProxyRefusal(status: .badRequest, code: "bad_request", message: message)
    }

    static func refused(_ reason: DecisionReason, _ message: String, destination: String) -> ProxyRefusal {
        ProxyRefusal(status: .forbidden, code: reason.rawValue, message: message, reason: reason, destination: destination)
    }
}
