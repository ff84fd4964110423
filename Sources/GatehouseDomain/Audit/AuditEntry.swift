import Foundation

/// What a change of state says about itself; the store gives it a sequence number, a time
/// and its place in the hash chain when it commits the change.
public struct AuditDraft: Sendable, Equatable {
    /// Token name, `cli:<os user>` or `system`.
    public var actor: String
    /// Dotted verb, e.g. `license.install`, `token.create`.
    public var action: String
    /// What was acted on, e.g. a license id or token name.
    public var subject: String
    /// A JSON object with the particulars. Never holds a secret.
    public var details: JSONValue

    public init(actor: String, action: String, subject: String, details: JSONValue = [:]) {
        self.actor = actor
        self.action = action
        self.subject = subject
        self.details = details
    }
}

/// One committed entry of the audit log.
public struct AuditEntry: Sendable, Equatable {
    public var seq: Int64
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`, as stored and hashed.
    public var at: String
    public var actor: String
    public var action: String
    public var subject: String
    /// The canonical JSON text of the details, exactly as stored and hashed.
    public var details: String
    public var prevHash: String
    public var hash: String

    public init(seq: Int64, at: String, actor: String, action: String, subject: String, details: String, prevHash: String, hash: String) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.subject = subject
        self.details = details
        self.prevHash = prevHash
        self.hash = hash
    }
}
