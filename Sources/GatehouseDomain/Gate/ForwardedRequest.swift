import Foundation

/// Which reverse proxy asks the gate, and so which headers describe the original request
/// (`gate.proxy`). Only that proxy's set is read: a client can add the other sets to its own
/// request (and many proxies pass unknown headers on), so "whichever is present" would let a
/// client choose the path the gate judges.
public enum ProxyKind: String, Sendable, CaseIterable {
    /// nginx `auth_request`: `X-Original-Method`, `X-Original-URI`, optionally `X-Original-URL`.
    case nginx
    /// The shipped HAProxy Lua action: `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`.
    case haproxy
    /// Caddy `forward_auth`: `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`.
    case caddy
    /// Traefik `forwardAuth`: `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`.
    case traefik
    /// Envoy `ext_authz` (HTTP): the original path after `/gate/auth` (`path_prefix`), the
    /// original method, and the original `Host`.
    case envoy
}

/// The request the reverse proxy is asking about.
public struct ForwardedRequest: Sendable, Equatable {
    public var method: String
    /// The request target as the client sent it (path and query).
    public var uri: String
    /// The Host the client asked for, when the proxy says.
    public var host: String?
    /// `http` or `https`, when the proxy says.
    public var proto: String?

    public init(method: String, uri: String, host: String?, proto: String?) {
        self.method = method
        self.uri = uri
        self.host = host
        self.proto = proto
    }

    /// Reads the original request from the headers `kind` sets.
    /// - Parameters:
    ///   - header: all values of a header, by name.
    ///   - path: the path (and query) the gate was asked on, for Envoy's `path_prefix`.
    ///   - method: the method the gate was asked with (Envoy keeps the original's).
    /// - Returns: the request, or why it cannot be read (a missing or repeated header: the
    ///   proxy is not configured as the recipe says).
    public static func read(
        kind: ProxyKind, header: (String) -> [String], path: String, method: String
    ) -> Result<ForwardedRequest, ForwardedRequestProblem> {
        func one(_ name: String, required: Bool) -> Result<String?, ForwardedRequestProblem> {
            let values = header(name)
            if values.count > 1 { return .failure(.repeated(name)) }
            guard let value = values.first, !value.isEmpty else { return required ? .failure(.missing(name)) : .success(nil) }
            return .success(value)
        }
        switch kind {
        case .nginx:
            return one("X-Original-URI", required: true).flatMap { uri in
                one("X-Original-Method", required: false).flatMap { m in
                    one("X-Original-URL", required: false).map { url in
                        let (proto, host) = url.map(Self.schemeAndHost) ?? (nil, nil)
                        return ForwardedRequest(method: m ?? "GET", uri: uri!, host: host, proto: proto)
                    }
                }
            }
        case .haproxy, .caddy, .traefik:
            return one("X-Forwarded-Uri", required: true).flatMap { uri in
                one("X-Forwarded-Method", required: true).flatMap { m in
                    one("X-Forwarded-Host", required: false).flatMap { host in
                        one("X-Forwarded-Proto", required: false).map { proto in
                            ForwardedRequest(method: m!, uri: uri!, host: host, proto: proto)
                        }
                    }
                }
            }
        case .envoy:
            let prefix = "/gate/auth"
            guard path.hasPrefix(prefix) else { return .failure(.missing("the original path after /gate/auth")) }
            var rest = String(path.dropFirst(prefix.count))
            if rest.isEmpty || rest.hasPrefix("?") { rest = "/" + rest }
            return one("Host", required: false).map { host in
                ForwardedRequest(method: method, uri: rest, host: host, proto: header("X-Forwarded-Proto").first)
            }
        }
    }

    static func schemeAndHost(_ url: String) -> (String?, String?) {
        let bytes = url.utf8
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return (nil, nil) }
        let rest = bytes[bytes.index(after: colon)...]
        guard rest.starts(with: "//".utf8) else { return (nil, nil) }
        let authority = rest.dropFirst(2).prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
        let scheme = String(decoding: bytes[..<colon], as: UTF8.self)
        return (scheme == "https" || scheme == "http" ? scheme : scheme.lowercased(), String(decoding: authority, as: UTF8.self))
    }
}

/// Why the original request could not be read.
public enum ForwardedRequestProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case missing(String)
    case repeated(String)

    public var description: String {
        switch self {
        case .missing(let name): "the proxy did not send \(name)"
        case .repeated(let name): "\(name) arrived more than once"
        }
    }
}
