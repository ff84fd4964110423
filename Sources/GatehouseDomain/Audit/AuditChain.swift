import Foundation

/// The tamper-evident chain over audit entries (SPEC section 8).
///
/// `hash = hex(SHA-256(prev_hash || canonical))` where `canonical` is the entry as a JSON
/// object with sorted keys and no whitespace, its `details` embedded as stored:
/// `{"action":…,"actor":…,"at":…,"details":<stored text>,"seq":…,"subject":…}`.
/// docs/audit.md shows how to recompute it outside Gatehouse.
public enum AuditChain {
    /// `prev_hash` of the first entry.
    public static let genesis = String(repeating: "0", count: 64)

    /// The canonical text of an entry's content.
    public static func canonical(seq: Int64, at: String, actor: String, action: String, subject: String, details: String) -> String {
        "{\"action\":" + JSONValue.quoted(action) + ",\"actor\":" + JSONValue.quoted(actor) + ",\"at\":" + JSONValue.quoted(at)
            + ",\"details\":" + details + ",\"seq\":" + String(seq) + ",\"subject\":" + JSONValue.quoted(subject) + "}"
    }

    /// The hash of an entry given the previous entry's hash.
    public static func hash(prevHash: String, canonical: String) -> String {
        sha256Hex(prevHash + canonical)
    }

    /// Seals a draft as entry number `seq` after `prevHash`.
    public static func seal(_ draft: AuditDraft, seq: Int64, at: Date, prevHash: String) -> AuditEntry {
        let atText = UTC.format(at, milliseconds: true)
        let details = draft.details.canonicalText
        let text = canonical(seq: seq, at: atText, actor: draft.actor, action: draft.action, subject: draft.subject, details: details)
        return AuditEntry(
            seq: seq, at: atText, actor: draft.actor, action: draft.action, subject: draft.subject,
            details: details, prevHash: prevHash, hash: hash(prevHash: prevHash, canonical: text))
    }
}

/// Walks the chain in order and reports the first entry that breaks it.
public struct AuditVerifier: Sendable {
    public private(set) var entries: Int64 = 0
    public private(set) var firstBroken: Int64?
    public private(set) var problem: String?
    private var expectedSeq: Int64 = 1
    private var previousHash = AuditChain.genesis

    public init() {}

    /// Feeds the next entry (in `seq` order). Returns `false` once the chain is broken.
    @discardableResult
    public mutating func feed(_ entry: AuditEntry) -> Bool {
        guard firstBroken == nil else { return false }
        entries += 1
        if entry.seq != expectedSeq {
            return fail(expectedSeq, entry.seq > expectedSeq ? "entry \(expectedSeq) is missing" : "entry \(entry.seq) is out of order")
        }
        if entry.prevHash != previousHash {
            return fail(entry.seq, "prev_hash does not match the hash of entry \(entry.seq - 1)")
        }
        let canonical = AuditChain.canonical(seq: entry.seq, at: entry.at, actor: entry.actor, action: entry.action, subject: entry.subject, details: entry.details)
        if AuditChain.hash(prevHash: entry.prevHash, canonical: canonical) != entry.hash {
            return fail(entry.seq, "the content does not match its hash")
        }
        if (try? JSONValue.parse(entry.details))?.canonicalText != entry.details {
            return fail(entry.seq, "details are not canonical JSON")
        }
        previousHash = entry.hash
        expectedSeq += 1
        return true
    }

    /// Checks the end of the chain against the head recorded with the last write, which
    /// catches entries deleted from the end.
    public mutating func finish(head: (seq: Int64, hash: String)?) {
        guard firstBroken == nil else { return }
        let lastSeq = expectedSeq - 1
        switch head {
        case nil where lastSeq == 0: return
        case nil: _ = fail(1, "the recorded chain head is missing")
        case let (seq, hash)?:
            if seq > lastSeq {
                _ = fail(lastSeq + 1, "entries \(lastSeq + 1)…\(seq) are missing from the end")
            } else if seq < lastSeq || hash != previousHash {
                _ = fail(seq, "the chain head recorded (entry \(seq)) does not match the log")
            }
        }
    }

    public var ok: Bool { firstBroken == nil }

    private mutating func fail(_ seq: Int64, _ why: String) -> Bool {
        firstBroken = seq
        problem = why
        return false
    }
}
