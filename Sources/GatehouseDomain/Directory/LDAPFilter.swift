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
/// spaces around separators do not matter.
public enum DistinguishedName {
    public static func normalise(_ dn: String) -> String {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for ch in dn {
            if escaped {
                current.append(ch)
                escaped = false
                continue
            }
            if ch == "\\" {
                current.append(ch)
                escaped = true
            } else if ch == "," || ch == ";" {
                parts.append(normaliseRDN(current))
                current = ""
            } else {
                current.append(ch)
            }
        }
        parts.append(normaliseRDN(current))
        return parts.joined(separator: ",")
    }

    static func normaliseRDN(_ rdn: String) -> String {
        let pieces = rdn.split(separator: "=", maxSplits: 1)
        guard pieces.count == 2 else { return rdn.trimmingSpaces.lowercased() }
        return String(pieces[0]).trimmingSpaces.lowercased() + "=" + String(pieces[1]).trimmingSpaces.lowercased()
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
