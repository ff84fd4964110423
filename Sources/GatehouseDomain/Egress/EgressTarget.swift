import Foundation

/// Where a connection would go: a normalised host and a port.
public struct EgressTarget: Hashable, Sendable, CustomStringConvertible {
    public var host: EgressHost
    public var port: Int

    public init(host: EgressHost, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String {
        if case .ip(.v6) = host { return "[\(host)]:\(port)" }
        return "\(host):\(port)"
    }

    /// Parses an `http(s)://` URL strictly. The host is what follows the last `@` of the
    /// authority (so `http://allowed.com@evil.com` is evil.com, as every client reads it);
    /// anything two clients could read differently — a backslash, a percent sign, a space —
    /// is refused rather than guessed.
    public static func parse(url: String) -> Result<EgressTarget, EgressRefusal> {
        guard let schemeEnd = url.range(of: "://") else { return .failure(.invalidHost("\"\(url)\" is not an http:// or https:// URL")) }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let defaultPort: Int
        switch scheme {
        case "http", "ws": defaultPort = 80
        case "https", "wss": defaultPort = 443
        default: return .failure(.invalidHost("scheme \(scheme) is not allowed (http, https, ws, wss)"))
        }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.contains(where: { $0 == "\\" || $0 == " " || $0 == "\t" || $0.asciiValue.map { $0 < 0x20 } == true }) else {
            return .failure(.invalidHost("\"\(url)\" has characters in its authority that clients read differently"))
        }
        let hostPort = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        return parse(authority: String(hostPort), defaultPort: defaultPort)
    }

    /// What may be recorded of a URL that could not be parsed: its scheme and authority
    /// without userinfo, at most 200 characters. Paths and queries (a Slack webhook's secret,
    /// a token) and passwords are never kept.
    public static func redacted(_ url: String) -> String {
        var text = Substring(url)
        var scheme = ""
        if let end = text.range(of: "://") {
            scheme = String(text[..<end.upperBound])
            text = text[end.upperBound...]
        }
        var authority = text.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        return String((scheme + authority).prefix(200))
    }

    /// Parses `host[:port]` (a CONNECT target, a Host header); IPv6 in brackets.
    public static func parse(authority: String, defaultPort: Int?) -> Result<EgressTarget, EgressRefusal> {
        var hostText = Substring(authority)
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(.invalidHost("\"\(authority)\": unclosed [")) }
            hostText = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(.invalidHost("\"\(authority)\" is not host:port")) }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostText = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        if hostText.utf8.contains(UInt8(ascii: "%")), !hostText.hasPrefix("[") {
            return .failure(.invalidHost("\"\(authority)\": percent-encoded hosts are refused"))
        }
        let port: Int
        if let portText {
            // ASCII digits only, compared as bytes (a Character's isNumber costs grapheme breaking).
            guard !portText.isEmpty, portText.utf8.count <= 5, portText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let value = Int(portText),
                (1...65535).contains(value)
            else { return .failure(.invalidHost("\"\(authority)\": the port must be 1 to 65535")) }
            port = value
        } else if let defaultPort {
            port = defaultPort
        } else {
            return .failure(.invalidHost("\"\(authority)\": a port is required"))
        }
        switch EgressHost.normalise(String(hostText)) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let host): return .success(EgressTarget(host: host, port: port))
        }
    }
}
