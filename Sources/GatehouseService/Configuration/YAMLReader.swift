import Foundation
import Yams

/// Reads a YAML document field by field, collecting every problem with its line, so that a
/// configuration or policy file with three mistakes is reported with all three at once.
public struct YAMLReader {
    public let file: String
    public private(set) var problems: [String] = []

    public init(file: String) { self.file = file }

    /// Parses the document; an empty document is an empty mapping.
    public mutating func root(_ text: String) -> Node? {
        do {
            return try Yams.compose(yaml: text) ?? Node.mapping(Node.Mapping([]))
        } catch let error as YamlError {
            problems.append("\(file): \(Self.describe(error))")
        } catch {
            problems.append("\(file): not valid YAML: \(error)")
        }
        return nil
    }

    static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            "line \(mark.line): \(problem)"
        default:
            "not valid YAML: \(error)"
        }
    }

    public mutating func problem(_ node: Node?, _ path: String, _ message: String) {
        let line = node?.mark.map { "line \($0.line): " } ?? ""
        problems.append("\(file): \(line)\(path): \(message)")
    }

    /// The pairs of a mapping, refusing keys not in `allowed` (a typo should not be ignored).
    public mutating func mapping(_ node: Node?, _ path: String, allowed: Set<String>) -> [String: Node] {
        guard let node else { return [:] }
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null" { return [:] }
        guard let mapping = node.mapping else {
            problem(node, path, "expected a mapping")
            return [:]
        }
        var result: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else {
                problem(key, path, "keys must be strings")
                continue
            }
            let full = path.isEmpty ? name : "\(path).\(name)"
            guard allowed.contains(name) else {
                problem(key, full, "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
                continue
            }
            if result[name] != nil { problem(key, full, "appears twice") }
            result[name] = value
        }
        return result
    }

    public mutating func string(_ node: Node?, _ path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            problem(node, path, "expected a string")
            return nil
        }
        return scalar.string
    }

    public mutating func integer(_ node: Node?, _ path: String, in range: ClosedRange<Int>) -> Int? {
        guard let node else { return nil }
        guard let value = node.int, range.contains(value) else {
            problem(node, path, "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return value
    }

    public mutating func bool(_ node: Node?, _ path: String) -> Bool? {
        guard let node else { return nil }
        guard let value = node.bool else {
            problem(node, path, "expected true or false")
            return nil
        }
        return value
    }

    public mutating func sequence(_ node: Node?, _ path: String) -> [Node] {
        guard let node else { return [] }
        guard let sequence = node.sequence else {
            problem(node, path, "expected a list")
            return []
        }
        return Array(sequence)
    }
}
