import GatehouseDomain

extension JSONValue {
    /// Indented JSON with sorted keys, for people and scripts reading CLI output.
    public var prettyText: String {
        var out = ""
        writePretty(into: &out, indent: "")
        return out
    }

    private func writePretty(into out: inout String, indent: String) {
        switch self {
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += indent + "  "
                item.writePretty(into: &out, indent: indent + "  ")
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            let keys = members.keys.sorted()
            for (i, key) in keys.enumerated() {
                out += indent + "  " + JSONValue.quoted(key) + ": "
                members[key]!.writePretty(into: &out, indent: indent + "  ")
                out += i == keys.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        default:
            out += canonicalText
        }
    }
}
