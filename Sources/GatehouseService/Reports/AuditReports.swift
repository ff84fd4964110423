import GatehouseDomain

extension AuditEntry {
    /// The entry as JSON, details as an object, with its chain hashes.
    public var json: JSONValue {
        [
            "seq": .int(seq), "at": .string(at), "actor": .string(actor), "action": .string(action), "subject": .string(subject),
            "details": (try? JSONValue.parse(details)) ?? .string(details), "prev_hash": .string(prevHash), "hash": .string(hash),
        ]
    }

    /// Entries as an export file: JSON (an array, re-verifiable with docs/audit-verify.py) or
    /// RFC 4180 CSV — `audit export` and the console's download alike.
    public static func export(_ entries: [AuditEntry], json: Bool) -> String {
        json
            ? JSONValue.array(entries.map(\.json)).prettyText + "\n"
            : ([csvHeader] + entries.map(\.csvRow)).joined(separator: "\r\n") + "\r\n"
    }

    /// One line for `audit list`.
    public var line: String { "\(seq)\t\(at)\t\(actor)\t\(action)\t\(subject)\t\(details)" }
}

/// `audit verify`.
public struct AuditVerifyReport: Sendable {
    public var ok: Bool
    public var entries: Int64
    public var firstBroken: Int64?
    public var problem: String?

    public var json: JSONValue {
        ["ok": .bool(ok), "entries": .int(entries), "first_broken": firstBroken.map(JSONValue.int) ?? .null, "problem": .optional(problem)]
    }

    public var text: String {
        ok ? "audit chain intact: \(entries) entries" : "audit chain BROKEN at entry \(firstBroken ?? 0): \(problem ?? "")"
    }
}
