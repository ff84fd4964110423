/// Where people reach the gated Codecov (`gate.public_url`): scheme, host and port, which
/// every redirect and cookie of the gate is bound to.
public struct PublicOrigin: Sendable, Equatable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// Lowercased host name or address (IPv6 in brackets).
    public let host: String
    /// `nil` for the scheme's default port.
    public let port: Int?

    /// Parses `https://host[:port][/]`; `nil` for anything with a path, query, user info or
    /// another scheme.
    public init?(_ url: String) {
        let lower = url.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        var authority = String(url.dropFirst(scheme.count + 3))
        if authority.hasSuffix("/") { authority.removeLast() }
        guard let parsed = Self.authority(authority, scheme: scheme) else { return nil }
        self.scheme = scheme
        self.host = parsed.host
        self.port = parsed.port
    }

    /// Reads `host[:port]`; refuses user info, paths and anything a browser would read otherwise.
    static func authority(_ text: String, scheme: String) -> (host: String, port: Int?)? {
        guard !text.isEmpty, text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value != 0x7F }),
            !text.contains(where: { "/\\@?#%".contains($0) })
        else { return nil }
        var host = text.lowercased()
        var port: Int?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()), (1...65535).contains(p) else { return nil }
                port = p
            }
            host = String(host[...close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            port = p
            host = String(host[..<colon])
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || "-._[]:".contains($0) }) else { return nil }
        if port == (scheme == "https" ? 443 : 80) { port = nil }
        return (host, port)
    }

    public var isSecure: Bool { scheme == "https" }

    /// `https://host[:port]`, without a trailing slash.
    public var description: String { "\(scheme)://\(hostAndPort)" }

    /// `host[:port]` as a Host header carries it.
    public var hostAndPort: String { port.map { "\(host):\($0)" } ?? host }

    /// Whether a Host header (or X-Forwarded-Host) names this origin. The usual spelling (as
    /// the proxy passes the browser's) is compared without allocating; others are parsed.
    public func matches(host header: String) -> Bool {
        var header = header, expected = hostAndPort
        let same = header.withUTF8 { h in
            expected.withUTF8 { e in
                h.count == e.count
                    && zip(h, e).allSatisfy { a, b in a == b || (a | 0x20 == b && b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) }
            }
        }
        if same { return true }
        guard let parsed = Self.authority(header, scheme: scheme) else { return false }
        return parsed.host == host && parsed.port == port
    }

    /// Where to send someone back after signing in, from a `rd` parameter: a relative path
    /// (`/gh/acme`) or a URL of this very origin. `nil` for anything else — another host,
    /// `//evil`, `/\evil`, `https://this@evil`, a scheme-relative or encoded trick — so the gate
    /// is never an open redirect. The answer is always an absolute URL of this origin.
    public func redirectTarget(_ rd: String) -> String? {
        if rd.isEmpty { return description + "/" }
        guard rd.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }), !rd.contains("\\"), rd.utf8.count <= 4096
        else { return nil }
        if rd.hasPrefix("/") {
            // "//host" and "/\host" are scheme-relative to a browser.
            guard !rd.hasPrefix("//") else { return nil }
            return description + rd
        }
        let lower = rd.lowercased()
        guard lower.hasPrefix(scheme + "://") else { return nil }
        let rest = rd.dropFirst(scheme.count + 3)
        let end = rest.firstIndex(where: { "/?#".contains($0) }) ?? rest.endIndex
        guard let parsed = Self.authority(String(rest[..<end]), scheme: scheme), parsed.host == host, parsed.port == port else {
            return nil
        }
        let tail = rest[end...]
        return description + (tail.hasPrefix("/") ? String(tail) : "/" + tail)
    }
}
