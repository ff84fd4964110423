import Foundation

/// A route pattern of `policies/gate.yml`: a path where `*` stands for any characters of one
/// segment (never `/`) and `**` for any characters across segments (none included).
/// `/webhooks/**` matches `/webhooks/github` and `/webhooks/`; `/*/*/*/graph/badge.svg`
/// matches `/gh/acme/api/graph/badge.svg`.
public struct PathPattern: Sendable, Hashable, CustomStringConvertible {
    enum Token: Sendable, Hashable {
        case literal([UInt8])
        case segment  // *
        case any  // **
    }

    public let text: String
    let tokens: [Token]
    /// The literal text every match starts and ends with: most paths are told apart by
    /// these two comparisons alone (the gate classes every request against every rule).
    let prefix: [UInt8]
    let suffix: [UInt8]

    /// `nil` unless the pattern starts with `/` and uses `*` only as `*` or `**` (at most
    /// eight wildcards, so matching stays cheap whatever the path).
    public init?(_ text: String) {
        guard text.hasPrefix("/"), !text.contains("***"), text.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { return nil }
        var tokens: [Token] = []
        var literal: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "*") {
                if !literal.isEmpty { tokens.append(.literal(literal)) }
                literal = []
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "*") {
                    tokens.append(.any)
                    i += 2
                } else {
                    tokens.append(.segment)
                    i += 1
                }
            } else {
                literal.append(bytes[i])
                i += 1
            }
        }
        if !literal.isEmpty { tokens.append(.literal(literal)) }
        guard tokens.filter({ if case .literal = $0 { false } else { true } }).count <= 8 else { return nil }
        self.text = text
        self.tokens = tokens
        if case .literal(let first)? = tokens.first { prefix = first } else { prefix = [] }
        if tokens.count > 1, case .literal(let last)? = tokens.last { suffix = last } else { suffix = [] }
    }

    public var description: String { text }

    public static func == (a: PathPattern, b: PathPattern) -> Bool { a.text == b.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }

    /// Whether `path` (decoded, without query) matches. No allocation: the gate asks this for
    /// every rule on every request.
    public func matches(_ path: String) -> Bool {
        var path = path
        return path.withUTF8 { matches($0) }
    }

    /// As `matches(_:)`, on the path's UTF-8 bytes (a classification reads them once for
    /// every pattern).
    public func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= prefix.count + suffix.count, Self.equal(bytes, at: 0, prefix),
            Self.equal(bytes, at: bytes.count - suffix.count, suffix)
        else { return false }
        return tokens.withUnsafeBufferPointer { Self.match($0, 0, bytes, 0) }
    }

    /// Whether `s` holds `literal` at `offset` (which the caller keeps in bounds).
    private static func equal(_ s: UnsafeBufferPointer<UInt8>, at offset: Int, _ literal: [UInt8]) -> Bool {
        literal.withUnsafeBufferPointer { l in l.isEmpty || memcmp(s.baseAddress! + offset, l.baseAddress!, l.count) == 0 }
    }

    private static func match(_ tokens: UnsafeBufferPointer<Token>, _ t: Int, _ s: UnsafeBufferPointer<UInt8>, _ p: Int) -> Bool {
        guard t < tokens.count else { return p == s.count }
        switch tokens[t] {
        case .literal(let literal):
            guard p + literal.count <= s.count, equal(s, at: p, literal) else { return false }
            return match(tokens, t + 1, s, p + literal.count)
        case .segment:
            var q = p
            while true {
                if match(tokens, t + 1, s, q) { return true }
                if q == s.count || s[q] == UInt8(ascii: "/") { return false }
                q += 1
            }
        case .any:
            for q in p...s.count where match(tokens, t + 1, s, q) { return true }
            return false
        }
    }
}
