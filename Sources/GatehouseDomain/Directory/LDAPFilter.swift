/// Building LDAP search filters safely.
public enum LDAPFilter {
    /// Escapes a value for use inside a filter (RFC 4515 section 3): `*`, `(`, `)`, `\` and NUL
    /// become `\2a`, `\28`, `\29`, `\5c`, `\00`, so a value can never change a filter's shape
    /// (`uid=*` would otherwise match everyone).
    public static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "*": out += "\\2a"
            case "(": out += "\\28"
            case ")": out += "\\29"
            case "\\": out += "\\5c"
            case "\u{0}": out += "\\00"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `(attribute=value)` with the value escaped.
    public static func equals(_ attribute: String, _ value: String) -> String {
        "(\(attribute)=\(escape(value)))"
    }

    /// Both filters must match.
    public static func and(_ filters: String...) -> String {
        "(&" + filters.joined() + ")"
    }

    /// A light check of a configured filter: wrapped in parentheses and balanced, so that a
    /// typo is reported at startup rather than as a search error at 3 a.m.
    public static func problem(in filter: String) -> String? {
        guard filter.hasPrefix("("), filter.hasSuffix(")") else { return "a filter must be wrapped in parentheses, e.g. (objectClass=person)" }
        var depth = 0
        var escaped = false
        for ch in filter.utf8 {
            if escaped { escaped = false; continue }
            switch ch {
            case UInt8(ascii: "\\"): escaped = true
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                if depth < 0 { return "unbalanced parentheses" }
            default: break
            }
        }
        return depth == 0 ? nil : "unbalanced parentheses"
    }
}

/// Distinguished names compared the way directories compare them in practice: case and the
/// spaces around separators do not matter. (ASCII letters are folded; other letters are kept
/// as written, which is what directories with non-ASCII DNs send back consistently.)
public enum DistinguishedName {
    public static func normalise(_ dn: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(dn.utf8.count)
        // Bytes up to here are escaped or significant: never trimmed as trailing spaces.
        var kept = 0
        var skipSpaces = true
        var escaped = false
        for byte in dn.utf8 {
            if escaped {
                out.append(lower(byte))
                kept = out.count
                escaped = false
                continue
            }
            switch byte {
            case UInt8(ascii: " ") where skipSpaces:
                continue
            case UInt8(ascii: "\\"):
                out.append(byte)
                escaped = true
                skipSpaces = false
            case UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "+"):
                while out.count > kept, out.last == UInt8(ascii: " ") { out.removeLast() }
                out.append(byte == UInt8(ascii: ";") ? UInt8(ascii: ",") : byte)
                kept = out.count
                skipSpaces = true
            default:
                out.append(lower(byte))
                skipSpaces = false
            }
        }
        while out.count > kept, out.last == UInt8(ascii: " ") { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always) static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}
