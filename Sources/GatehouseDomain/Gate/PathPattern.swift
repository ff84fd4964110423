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

    /// `nil` unless the pattern starts with `/` and uses `*` only as `*` or `**`.
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
        self.text = text
        self.tokens = tokens
    }

    public var description: String { text }

    /// Whether `path` (decoded, without query) matches.
    public func matches(_ path: String) -> Bool {
        let bytes = Array(path.utf8)
        // Positions in `bytes` reachable after each token; patterns are short, paths bounded.
        var positions: Set<Int> = [0]
        for token in tokens {
            var next = Set<Int>()
            for p in positions {
                switch token {
                case .literal(let lit):
                    if p + lit.count <= bytes.count, bytes[p..<(p + lit.count)].elementsEqual(lit) { next.insert(p + lit.count) }
                case .segment:
                    var q = p
                    next.insert(q)
                    while q < bytes.count, bytes[q] != UInt8(ascii: "/") {
                        q += 1
                        next.insert(q)
                    }
                case .any:
                    for q in p...bytes.count { next.insert(q) }
                }
            }
            positions = next
            if positions.isEmpty { return false }
        }
        return positions.contains(bytes.count)
    }
}
