/// PATCH (RFC 7644 section 3.5.2) in the shapes identity providers send: Okta's (`replace`
/// without a path and a value object, `members[value eq "…"]` removals) and Entra ID's
/// (capitalised `Add`/`Replace`/`Remove`, paths such as `emails[type eq "work"].value` or
/// `urn:…:enterprise:2.0:User:department`, boolean strings, member lists under `members`).
/// Applied to a copy; the result is normalised again, so a PATCH can make nothing that a PUT
/// could not.
public struct ScimPatch: Sendable {
    public enum Op: String, Sendable { case add, replace, remove }

    public struct Operation: Sendable {
        public var op: Op
        public var path: ScimPath?
        public var value: JSONValue?
        /// `remove` of a whole extension (its URN as the path).
        public var extensionRemoved: String? = nil
    }

    public var operations: [Operation]

    /// Group members, a set of user ids kept in order: a 10,000-member add or removal costs
    /// one pass, not one scan of the members per member.
    public struct Members: Sendable, Equatable {
        public private(set) var ids: [String] = []
        private var index: [String: Int] = [:]

        public init(_ ids: [String] = []) { for id in ids { insert(id) } }

        public var set: Set<String> { Set(ids) }
        public func contains(_ id: String) -> Bool { index[id] != nil }

        public mutating func insert(_ id: String) {
            guard index[id] == nil else { return }
            index[id] = ids.count
            ids.append(id)
        }

        public mutating func remove(_ ids: Set<String>) {
            guard ids.contains(where: { index[$0] != nil }) else { return }
            self = Members(self.ids.filter { !ids.contains($0) })
        }

        public mutating func removeAll() { self = Members() }
    }

    public static func parse(_ body: JSONValue, kind: ScimResourceKind) throws(ScimError) -> ScimPatch {
        guard case .object(let fields) = body else { throw .invalidSyntax("a PATCH body must be a JSON object") }
        let lower = Dictionary(fields.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        guard case .array(let schemas)? = lower["schemas"], schemas.contains(where: { $0.stringValue == ScimSchemas.patchURN }) else {
            throw .invalidValue("a PATCH body's schemas must be [\"\(ScimSchemas.patchURN)\"]")
        }
        guard case .array(let items)? = lower["operations"], !items.isEmpty else {
            throw .invalidValue("a PATCH body needs Operations: a list of {op, path, value}")
        }
        var operations: [Operation] = []
        for (n, item) in items.enumerated() {
            guard case .object(let raw) = item else { throw .invalidSyntax("Operations[\(n)] must be an object") }
            let f = Dictionary(raw.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
            guard case .string(let opText)? = f["op"], let op = Op(rawValue: opText.lowercased()) else {
                throw .invalidValue("Operations[\(n)].op must be add, replace or remove")
            }
            var path: ScimPath?
            var value = f["value"].flatMap { $0 == .null ? nil : $0 }
            if case .string(let text)? = f["path"], let ext = kind.extensions.first(where: { $0.id.lowercased() == text.lowercased() }) {
                // The path is a whole extension: its attributes, one by one.
                if op == .remove {
                    operations.append(Operation(op: op, path: nil, value: nil, extensionRemoved: ext.id))
                    continue
                }
                guard let given = value else { throw .invalidValue("Operations[\(n)] (\(op.rawValue)) needs a value") }
                value = [ext.id: given]
            } else if case .string(let text)? = f["path"], !text.isEmpty {
                path = try ScimPath.parse(text, kind: kind)
            } else if let p = f["path"], p != .null {
                throw .invalidPath("Operations[\(n)].path must be a string")
            }
            if op != .remove, value == nil { throw .invalidValue("Operations[\(n)] (\(op.rawValue)) needs a value") }
            if op == .remove, path == nil { throw ScimError(400, .noTarget, "Operations[\(n)]: remove needs a path") }
            operations.append(Operation(op: op, path: path, value: value))
        }
        return ScimPatch(operations: operations)
    }

    /// Applies every operation in order to `resource` (as stored) and, for a group, `members`.
    public func apply(to resource: JSONValue, members: inout Members, kind: ScimResourceKind) throws(ScimError) -> JSONValue {
        guard case .object(var object) = resource else { throw .invalidSyntax("the stored resource is not an object") }
        for operation in operations {
            if let ext = operation.extensionRemoved {
                object[ext] = nil
                continue
            }
            if let path = operation.path {
                try apply(operation.op, path, operation.value, to: &object, members: &members, kind: kind)
                continue
            }
            // No path: the value's attributes, each as if named by a path.
            guard case .object(let fields) = operation.value else {
                throw .invalidValue("\(operation.op.rawValue) without a path needs an object of attributes as its value")
            }
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                let lower = key.lowercased()
                if ["schemas", "id", "meta", "groups"].contains(lower) { continue }
                if let ext = kind.extensions.first(where: { $0.id.lowercased() == lower }) {
                    guard case .object(let inner) = value else { throw .invalidValue("\(ext.id) must be an object of its attributes") }
                    for (name, v) in inner.sorted(by: { $0.key < $1.key }) where !["schemas", "id", "meta"].contains(name.lowercased()) {
                        let path = try ScimPath.named(ext.id + ":" + name, kind: kind, error: ScimError.invalidValue)
                        try apply(operation.op, path, v, to: &object, members: &members, kind: kind)
                    }
                    continue
                }
                let path = try ScimPath.parse(key, kind: kind, error: ScimError.invalidValue)
                try apply(operation.op, path, value, to: &object, members: &members, kind: kind)
            }
        }
        return try ScimValues.normalise(.object(object), kind: kind, checkSchemas: false)
    }

    func apply(
        _ op: Op, _ path: ScimPath, _ value: JSONValue?, to object: inout [String: JSONValue], members: inout Members,
        kind: ScimResourceKind
    ) throws(ScimError) {
        guard let (attribute, sub) = path.resolve(kind) else { throw .invalidPath("\(kind.rawValue) has no attribute \(path)") }
        if attribute.mutability == .readOnly || sub?.mutability == .readOnly {
            throw .mutability("\(path) is read-only")
        }
        if kind == .group, attribute.name == "members", path.container == nil {
            try applyMembers(op, path, value, &members)
            return
        }
        // The object holding the attribute: the resource, or its extension's object.
        var holder: [String: JSONValue]
        if let container = path.container {
            if case .object(let o)? = object[container] { holder = o } else { holder = [:] }
        } else {
            holder = object
        }
        let name = attribute.name
        if let filter = path.filter {
            holder[name] = try applyFiltered(op, filter, sub: sub, value, to: holder[name], attribute: attribute, path: path)
        } else if let sub {
            holder[name] = try applySub(op, sub, value, to: holder[name], attribute: attribute, path: path)
        } else {
            switch op {
            case .remove:
                if attribute.multiValued, let value, case .array(let targets) = value, case .array(let items)? = holder[name] {
                    // Entra ID: remove these values (matched on `value`).
                    let gone = Set(targets.compactMap { $0["value"] ?? $0 })
                    holder[name] = .array(items.filter { !gone.contains($0["value"] ?? $0) })
                } else {
                    holder[name] = nil
                }
            case .add where attribute.multiValued:
                let existing: [JSONValue]
                if case .array(let items)? = holder[name] { existing = items } else { existing = [] }
                let added: [JSONValue]
                if case .array(let items)? = value { added = items } else { added = value.map { [$0] } ?? [] }
                holder[name] = .array(existing + added)
            case .add, .replace:
                if attribute.kind == .complex, !attribute.multiValued, case .object(let fields)? = value,
                    case .object(var current)? = holder[name]
                {
                    // Sub-attributes not named are left as they were.
                    for (k, v) in fields { current[attribute.sub(k)?.name ?? k] = v }
                    holder[name] = .object(current)
                } else {
                    holder[name] = value
                }
            }
        }
        holder[name] = try holder[name].flatMap { v throws(ScimError) in try ScimValues.value(v, attribute, path: path.description) }
        if let container = path.container {
            object[container] = holder.isEmpty ? nil : .object(holder)
        } else {
            object = holder
        }
    }

    /// `name.givenName`, or a sub-attribute of every element of a multi-valued attribute.
    func applySub(_ op: Op, _ sub: ScimAttribute, _ value: JSONValue?, to current: JSONValue?, attribute: ScimAttribute, path: ScimPath)
        throws(ScimError) -> JSONValue?
    {
        func set(_ element: JSONValue?) -> JSONValue {
            var fields: [String: JSONValue] = [:]
            if case .object(let o)? = element { fields = o }
            fields[sub.name] = op == .remove ? nil : value
            return .object(fields)
        }
        if attribute.multiValued {
            guard case .array(let items)? = current, !items.isEmpty else { return op == .remove ? current : .array([set(nil)]) }
            return .array(items.map { set($0) })
        }
        return set(current)
    }

    /// `emails[type eq "work"]` and `emails[type eq "work"].value`. An add or replace that
    /// matches nothing creates the element its equality filter describes (how Entra ID sets
    /// a user's first work address); a removal that matches nothing changes nothing.
    func applyFiltered(
        _ op: Op, _ filter: ScimFilter, sub: ScimAttribute?, _ value: JSONValue?, to current: JSONValue?, attribute: ScimAttribute,
        path: ScimPath
    ) throws(ScimError) -> JSONValue? {
        var items: [JSONValue] = []
        if case .array(let a)? = current { items = a }
        let matched = items.indices.filter { filter.matches(items[$0], relative: true) }
        if matched.isEmpty {
            guard op != .remove else { return current }
            guard var element = Self.described(by: filter) else {
                throw ScimError(400, .noTarget, "no value of \(attribute.name) matches \(path)")
            }
            if let sub {
                element[sub.name] = value
            } else if case .object(let fields)? = value {
                for (k, v) in fields { element[attribute.sub(k)?.name ?? k] = v }
            } else {
                throw .invalidValue("\(path) needs an object value")
            }
            return .array(items + [.object(element)])
        }
        if op == .remove, sub == nil {
            let gone = Set(matched)
            return .array(items.indices.filter { !gone.contains($0) }.map { items[$0] })
        }
        for i in matched {
            guard case .object(var fields) = items[i] else { continue }
            if let sub {
                fields[sub.name] = op == .remove ? nil : value
            } else if case .object(let given)? = value {
                if op == .replace { fields = [:] }
                for (k, v) in given { fields[attribute.sub(k)?.name ?? k] = v }
            } else {
                throw .invalidValue("\(path) needs an object value")
            }
            items[i] = .object(fields)
        }
        return .array(items)
    }

    /// The element an `eq` filter (or an `and` of them) describes, if it is one.
    static func described(by filter: ScimFilter) -> [String: JSONValue]? {
        switch filter {
        case .compare(let c) where c.op == .eq && c.value != .null: return [c.path.attribute: c.value]
        case .and(let a, let b):
            guard let x = described(by: a), let y = described(by: b) else { return nil }
            return x.merging(y) { first, _ in first }
        default: return nil
        }
    }

    func applyMembers(_ op: Op, _ path: ScimPath, _ value: JSONValue?, _ members: inout Members) throws(ScimError) {
        if let filter = path.filter {
            guard op == .remove, path.sub == nil else { throw .mutability("a member's value cannot be changed: remove it and add another") }
            if case .compare(let c) = filter, c.op == .eq, c.path.attribute == "value", case .string(let id) = c.value {
                members.remove([id])
            } else {
                members.remove(Set(members.ids.filter { filter.matches(["value": .string($0), "type": "User"], relative: true) }))
            }
            return
        }
        guard path.sub == nil else { throw .mutability("a member's \(path.sub!) cannot be changed") }
        var ids: [String] = []
        if let value {
            let items: [JSONValue]
            if case .array(let a) = value { items = a } else { items = [value] }
            for (n, item) in items.enumerated() {
                guard case .string(let id) = item["value"] ?? item, !id.isEmpty else {
                    throw .invalidValue("members[\(n)] needs the user's id as \"value\"")
                }
                ids.append(id)
            }
        }
        switch op {
        case .add: for id in ids { members.insert(id) }
        case .replace:
            members.removeAll()
            for id in ids { members.insert(id) }
        case .remove:
            if value == nil { members.removeAll() } else { members.remove(Set(ids)) }
        }
    }
}

/// A group's members as a client writes them in a POST or PUT.
extension ScimPatch.Members {
    public static func from(_ body: JSONValue) throws(ScimError) -> ScimPatch.Members {
        var members = ScimPatch.Members()
        guard case .object(let fields) = body, let value = fields.first(where: { $0.key.lowercased() == "members" })?.value, value != .null
        else { return members }
        guard case .array(let items) = value else { throw .invalidValue("members must be a list") }
        for (n, item) in items.enumerated() {
            guard case .string(let id)? = item["value"], !id.isEmpty else {
                throw .invalidValue("members[\(n)] needs the user's id as \"value\"")
            }
            members.insert(id)
        }
        return members
    }
}
