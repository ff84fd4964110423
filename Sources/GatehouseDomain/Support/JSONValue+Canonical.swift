/// Canonical JSON text: object keys sorted by code point, no insignificant whitespace,
/// strings escaped minimally. It is byte-for-byte what Python's
/// `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` prints for
/// the same value, so an auditor can recompute audit hashes with a few lines of Python.
extension JSONValue {
    /// The canonical text of this value.
    public var canonicalText: String {
        var out = ""
        writeCanonical(into: &out)
        return out
    }

    func writeCanonical(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .number(let text): out += text
        case .string(let s): JSONValue.writeQuoted(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.writeCanonical(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            // UTF-8 byte order is code point order.
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeQuoted(key, into: &out)
                out += ":"
                members[key]!.writeCanonical(into: &out)
            }
            out += "}"
        }
    }

    /// Writes `s` as a JSON string literal with the minimal escapes.
    public static func writeQuoted(_ s: String, into out: inout String) {
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out += "\""
            out += s
            out += "\""
            return
        }
        // Runs of bytes that need no escape are copied whole (an audit batch quotes details
        // that are JSON themselves, full of quotes: scalar by scalar, that was a tenth of a
        // directory sync). Every escaped byte is ASCII, so each run starts and ends on a
        // scalar boundary.
        out += "\""
        let scalars = s.unicodeScalars
        var run = scalars.startIndex
        var index = run
        while index != scalars.endIndex {
            let scalar = scalars[index], here = index
            let escape: String? =
                switch scalar {
                case "\"": "\\\""
                case "\\": "\\\\"
                case "\n": "\\n"
                case "\r": "\\r"
                case "\t": "\\t"
                case "\u{08}": "\\b"
                case "\u{0C}": "\\f"
                case _ where scalar.value < 0x20: (scalar.value < 0x10 ? "\\u000" : "\\u00") + String(scalar.value, radix: 16)
                default: nil
                }
            scalars.formIndex(after: &index)
            guard let escape else { continue }
            out += Substring(scalars[run..<here])
            out += escape
            run = index
        }
        out += Substring(scalars[run..<index])
        out += "\""
    }

    /// `s` as a JSON string literal.
    public static func quoted(_ s: String) -> String {
        var out = ""
        writeQuoted(s, into: &out)
        return out
    }
}
