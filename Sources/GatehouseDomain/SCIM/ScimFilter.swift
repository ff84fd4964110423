import Foundation

/// A SCIM filter (RFC 7644 section 3.4.2.2), parsed by a real parser rather than matched
/// with patterns: `and` binds tighter than `or`, `not (…)` and parentheses group, and a
/// value path (`emails[type eq "work" and value ew "@example.com"]`) filters the elements of
/// a multi-valued attribute. Every attribute is resolved against the schema when parsed, so
/// an unknown attribute, a comparison the type has not (`active gt true`) or stray text is a
/// 400 `invalidFilter` naming it, never a filter that silently matches nothing.
public indirect enum ScimFilter: Sendable, Equatable, CustomStringConvertible {
    public enum Op: String, Sendable, CaseIterable { case eq, ne, co, sw, ew, gt, lt, ge, le }

    public struct Comparison: Sendable, Equatable {
        public var path: ScimPath
        public var op: Op
        public var value: JSONValue
        public var caseExact: Bool
        public var kind: ScimAttribute.Kind
    }

    case compare(Comparison)
    case present(ScimPath)
    case and(ScimFilter, ScimFilter)
    case or(ScimFilter, ScimFilter)
    case not(ScimFilter)
    /// `attribute[filter]`: some element of the multi-valued attribute matches the filter,
    /// whose paths name the attribute's sub-attributes.
    case valuePath(ScimPath, ScimFilter)

    public static let maxLength = 4096
    static let maxDepth = 32

    public var description: String {
        switch self {
        case .compare(let c): "\(c.path) \(c.op.rawValue) \(c.value.canonicalText)"
        case .present(let p): "\(p) pr"
        case .and(let a, let b): "(\(a) and \(b))"
        case .or(let a, let b): "(\(a) or \(b))"
        case .not(let f): "not (\(f))"
        case .valuePath(let p, let f): "\(p)[\(f)]"
        }
    }

    public static func parse(_ text: String, kind: ScimResourceKind) throws(ScimError) -> ScimFilter {
        guard text.utf8.count <= maxLength else { throw .invalidFilter("the filter is longer than \(maxLength) bytes") }
        var lexer = ScimLexer(text)
        let filter = try lexer.filter(kind: kind, parent: nil, depth: 0)
        guard lexer.atEnd else { throw .invalidFilter("unexpected \(lexer.peekDescription) in the filter at offset \(lexer.offset)") }
        return filter
    }

    // MARK: evaluation

    /// Whether the resource (as rendered: id, meta, groups or members included) matches.
    public func matches(_ resource: JSONValue) -> Bool { matches(resource, relative: false) }

    func matches(_ object: JSONValue, relative: Bool) -> Bool {
        switch self {
        case .and(let a, let b): return a.matches(object, relative: relative) && b.matches(object, relative: relative)
        case .or(let a, let b): return a.matches(object, relative: relative) || b.matches(object, relative: relative)
        case .not(let f): return !f.matches(object, relative: relative)
        case .present(let path):
            return Self.values(path, in: object, relative: relative).contains { value in
                switch value {
                case .null: false
                case .string(let s): !s.isEmpty
                case .array(let a): !a.isEmpty
                case .object(let o): !o.isEmpty
                default: true
                }
            }
        case .valuePath(let path, let inner):
            return Self.elements(path, in: object).contains { inner.matches($0, relative: true) }
        case .compare(let c):
            let values = Self.values(c.path, in: object, relative: relative).filter { $0 != .null }
            if c.op == .ne { return !values.contains { Self.compare($0, c.withOp(.eq)) } }
            if c.op == .eq, c.value == .null { return values.isEmpty }
            return values.contains { Self.compare($0, c) }
        }
    }

    static func container(_ path: ScimPath, in resource: JSONValue) -> JSONValue? {
        path.container.map { resource[$0] ?? .null } ?? resource
    }

    static func elements(_ path: ScimPath, in resource: JSONValue) -> [JSONValue] {
        switch container(path, in: resource)?[path.attribute] {
        case .array(let items)?: items
        case let value?: [value]
        case nil: []
        }
    }

    /// The values a path reaches: a multi-valued complex attribute without a sub-attribute
    /// compares its elements' `value`.
    static func values(_ path: ScimPath, in object: JSONValue, relative: Bool) -> [JSONValue] {
        let top: [JSONValue]
        if relative {
            top = object[path.attribute].map { [$0] } ?? []
        } else {
            top = elements(path, in: object)
        }
        if let sub = path.sub { return top.compactMap { $0[sub] } }
        return top.map { value in
            if case .object = value { return value["value"] ?? .null }
            return value
        }
    }

    static func compare(_ value: JSONValue, _ c: Comparison) -> Bool {
        switch (value, c.value) {
        case (.bool(let a), .bool(let b)): return c.op == .eq ? a == b : false
        case (.string(let a), .string(let b)):
            if c.kind == .dateTime, let x = UTC.parseTimestamp(a), let y = UTC.parseTimestamp(b) {
                return order(x, y, c.op) ?? false
            }
            let x = c.caseExact ? a : a.lowercased(), y = c.caseExact ? b : b.lowercased()
            switch c.op {
            case .eq: return x == y
            case .co: return x.contains(y)
            case .sw: return x.hasPrefix(y)
            case .ew: return x.hasSuffix(y)
            default: return order(x, y, c.op) ?? false
            }
        case (.int, _), (.number, _):
            guard let x = number(value), let y = number(c.value) else { return false }
            return c.op == .eq ? x == y : order(x, y, c.op) ?? false
        default: return false
        }
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let i): Double(i)
        case .number(let text): Double(text)
        default: nil
        }
    }

    static func order<T: Comparable>(_ a: T, _ b: T, _ op: Op) -> Bool? {
        switch op {
        case .eq: a == b
        case .gt: a > b
        case .ge: a >= b
        case .lt: a < b
        case .le: a <= b
        default: nil
        }
    }

    /// `attribute eq "value"` on one of `names` at the top of an `and` chain: what an index
    /// can answer (Okta's and Entra's look-ups before a create are all of this kind).
    public func equality(on names: Set<String>) -> (attribute: String, value: String)? {
        switch self {
        case .compare(let c) where c.op == .eq && c.path.container == nil && c.path.sub == nil && names.contains(c.path.attribute):
            if case .string(let value) = c.value { return (c.path.attribute, value) }
            return nil
        case .and(let a, let b): return a.equality(on: names) ?? b.equality(on: names)
        default: return nil
        }
    }
}

extension ScimFilter.Comparison {
    func withOp(_ op: ScimFilter.Op) -> Self {
        var copy = self
        copy.op = op
        return copy
    }
}

/// Tokens of filters and paths. Attribute names are `ALPHA *(ALPHA / DIGIT / "_" / "-")` or
/// `$ref`, optionally behind a schema URN.
struct ScimLexer {
    let bytes: [UInt8]
    var index = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    var atEnd: Bool {
        mutating get {
            skipSpaces()
            return index == bytes.count
        }
    }
    var offset: Int { index }

    var peekDescription: String {
        index < bytes.count ? "\"\(String(decoding: bytes[index..<min(bytes.count, index + 16)], as: UTF8.self))\"" : "end"
    }

    static func isAttributeName(_ s: Substring) -> Bool {
        if s == "$ref" { return true }
        guard let first = s.utf8.first, isAlpha(first) else { return false }
        return s.utf8.allSatisfy { isAlpha($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    static func isAlpha(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }

    mutating func skipSpaces() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
            index += 1
        }
    }

    mutating func take(_ c: Character) -> Bool {
        skipSpaces()
        guard index < bytes.count, bytes[index] == c.asciiValue! else { return false }
        index += 1
        return true
    }

    /// A word: an attribute path or a keyword (letters, digits, `_ - $ : .`).
    mutating func word() -> String? {
        skipSpaces()
        let start = index
        while index < bytes.count {
            let c = bytes[index]
            guard
                Self.isAlpha(c) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: "$")
                    || c == UInt8(ascii: ":") || c == UInt8(ascii: ".")
            else { break }
            index += 1
        }
        return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
    }

    mutating func keyword(_ k: String) -> Bool {
        let saved = index
        if let w = word(), w.lowercased() == k { return true }
        index = saved
        return false
    }

    // MARK: filters

    mutating func filter(kind: ScimResourceKind, parent: ScimAttribute?, depth: Int) throws(ScimError) -> ScimFilter {
        guard depth < ScimFilter.maxDepth else { throw .invalidFilter("the filter nests more than \(ScimFilter.maxDepth) levels") }
        var left = try conjunction(kind: kind, parent: parent, depth: depth)
        while keyword("or") { left = .or(left, try conjunction(kind: kind, parent: parent, depth: depth)) }
        return left
    }

    mutating func conjunction(kind: ScimResourceKind, parent: ScimAttribute?, depth: Int) throws(ScimError) -> ScimFilter {
        var left = try unary(kind: kind, parent: parent, depth: depth)
        while keyword("and") { left = .and(left, try unary(kind: kind, parent: parent, depth: depth)) }
        return left
    }

    mutating func unary(kind: ScimResourceKind, parent: ScimAttribute?, depth: Int) throws(ScimError) -> ScimFilter {
        if keyword("not") {
            guard take("(") else { throw .invalidFilter("\"not\" must be followed by a parenthesised filter, at offset \(index)") }
            let inner = try filter(kind: kind, parent: parent, depth: depth + 1)
            guard take(")") else { throw .invalidFilter("missing \")\" at offset \(index)") }
            return .not(inner)
        }
        if take("(") {
            let inner = try filter(kind: kind, parent: parent, depth: depth + 1)
            guard take(")") else { throw .invalidFilter("missing \")\" at offset \(index)") }
            return inner
        }
        guard let name = word() else { throw .invalidFilter("expected an attribute at offset \(index), found \(peekDescription)") }
        let (path, attribute) = try resolve(name, kind: kind, parent: parent)
        if take("[") {
            guard parent == nil, attribute.kind == .complex, attribute.multiValued, path.sub == nil else {
                throw .invalidFilter("\(name)[…]: only a multi-valued attribute's values can be filtered")
            }
            let inner = try filter(kind: kind, parent: attribute, depth: depth + 1)
            guard take("]") else { throw .invalidFilter("missing \"]\" at offset \(index)") }
            return .valuePath(path, inner)
        }
        guard let opWord = word() else { throw .invalidFilter("expected an operator after \(name) at offset \(index)") }
        if opWord.lowercased() == "pr" { return .present(path) }
        guard let op = ScimFilter.Op(rawValue: opWord.lowercased()) else {
            throw .invalidFilter("unknown operator \"\(opWord)\" (use eq, ne, co, sw, ew, gt, ge, lt, le or pr)")
        }
        let value = try literal()
        // A multi-valued complex attribute compares its values' `value`.
        var compared = attribute
        if attribute.kind == .complex, path.sub == nil {
            guard attribute.multiValued, let valueAttribute = attribute.sub("value") else {
                throw .invalidFilter(
                    "\(name) is complex: name one of its sub-attributes (e.g. \(name).\(attribute.subAttributes.first?.name ?? "value"))")
            }
            compared = valueAttribute
        } else if let sub = path.sub, let subAttribute = attribute.sub(sub) {
            compared = subAttribute
        }
        try check(op, value, against: compared, name: name)
        var normalised = value
        if compared.kind == .boolean, case .string(let s) = value, let b = ScimValues.boolean(s) { normalised = .bool(b) }
        return .compare(.init(path: path, op: op, value: normalised, caseExact: compared.caseExact, kind: compared.kind))
    }

    func check(_ op: ScimFilter.Op, _ value: JSONValue, against attribute: ScimAttribute, name: String) throws(ScimError) {
        switch (attribute.kind, value) {
        case (_, .null) where op == .eq || op == .ne: return
        case (.boolean, _):
            var known = false
            if case .bool = value { known = true }
            if case .string(let s) = value, ScimValues.boolean(s) != nil { known = true }
            guard known, op == .eq || op == .ne else {
                throw .invalidFilter("\(name) is a boolean: only eq and ne with true or false compare it")
            }
            return
        case (.string, .string), (.reference, .string), (.dateTime, .string): return
        case (.integer, .int), (.decimal, .int), (.decimal, .number):
            if [.co, .sw, .ew].contains(op) { break }
            return
        default: break
        }
        throw .invalidFilter("\(name) \(op.rawValue) \(value.canonicalText): a \(attribute.kind.rawValue) cannot be compared so")
    }

    mutating func literal() throws(ScimError) -> JSONValue {
        skipSpaces()
        guard index < bytes.count else { throw .invalidFilter("expected a value at the end of the filter") }
        if bytes[index] == UInt8(ascii: "\"") {
            // A JSON string: find its end (escapes skipped), then let the JSON parser decode it.
            var end = index + 1
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
            guard end < bytes.count else { throw .invalidFilter("an unterminated string starts at offset \(index)") }
            let text = String(decoding: bytes[index...end], as: UTF8.self)
            guard case .string(let s)? = try? JSONValue.parse(text) else { throw .invalidFilter("a malformed string at offset \(index)") }
            index = end + 1
            return .string(s)
        }
        let start = index
        guard let w = word() else { throw .invalidFilter("expected a value at offset \(start), found \(peekDescription)") }
        switch w.lowercased() {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "null": return .null
        default:
            // Numbers: the word stops at "+"; JSON's own grammar decides.
            if let first = w.utf8.first, first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39),
                let number = try? JSONValue.parse(w)
            {
                if case .int = number { return number }
                if case .number = number { return number }
            }
            throw .invalidFilter("\"\(w)\" is not a value: strings are quoted (\"…\"), or true, false, null or a number")
        }
    }

    func resolve(_ name: String, kind: ScimResourceKind, parent: ScimAttribute?) throws(ScimError) -> (ScimPath, ScimAttribute) {
        if let parent {
            guard ScimLexer.isAttributeName(Substring(name)), let sub = parent.sub(name) else {
                throw .invalidFilter("\(parent.name) has no sub-attribute \"\(name)\"")
            }
            return (ScimPath(container: nil, attribute: sub.name), sub)
        }
        let path = try ScimPath.named(name, kind: kind, error: ScimError.invalidFilter)
        guard let (attribute, _) = path.resolve(kind) else { throw .invalidFilter("\(kind.rawValue) has no attribute \"\(name)\"") }
        return (path, attribute)
    }

    // MARK: PATCH paths

    /// `attr`, `attr.sub`, `urn:…:attr`, `attr[filter]`, `attr[filter].sub`.
    mutating func path(kind: ScimResourceKind, allowFilter: Bool, error: (String) -> ScimError) throws(ScimError) -> ScimPath {
        guard let name = word() else { throw error("expected an attribute path") }
        var path = try ScimPath.named(name, kind: kind, error: error)
        guard take("[") else { return path }
        guard allowFilter, path.sub == nil, let (attribute, _) = path.resolve(kind), attribute.multiValued, attribute.kind == .complex
        else {
            throw error("\(name)[…]: only a multi-valued attribute's values can be filtered")
        }
        do {
            path.filter = try filter(kind: kind, parent: attribute, depth: 1)
        } catch let e {
            throw error("in \(name)[…]: \(e.detail)")
        }
        guard take("]") else { throw error("missing \"]\" in the path") }
        if take(".") {
            guard let subName = word(), let sub = attribute.sub(subName) else {
                throw error("\(name) has no such sub-attribute after \"]\"")
            }
            path.sub = sub.name
        }
        return path
    }
}
