import Foundation

/// The directory people held, as of one audit head (every change of state moves it).
public struct StoredDirectory: Sendable {
    public var people: [StoredDirectoryPerson]
    public var auditSeq: Int64

    public init(people: [StoredDirectoryPerson], auditSeq: Int64) {
        self.people = people
        self.auditSeq = auditSeq
    }
}

/// When the directory was last read, and how that went.
public struct DirectorySyncState: Sendable, Equatable {
    public var lastAttemptAt: Date
    public var lastSuccessAt: Date?
    public var lastError: String?
    public var people: Int64
    public var groups: Int64
    /// The removal guard's latest refusal (not replaced by later failures of other kinds).
    public var lastRefusedAt: Date?
    public var lastRefusal: String?

    public init(
        lastAttemptAt: Date, lastSuccessAt: Date?, lastError: String?, people: Int64, groups: Int64, lastRefusedAt: Date? = nil,
        lastRefusal: String? = nil
    ) {
        self.lastRefusedAt = lastRefusedAt
        self.lastRefusal = lastRefusal
        self.lastAttemptAt = lastAttemptAt
        self.lastSuccessAt = lastSuccessAt
        self.lastError = lastError
        self.people = people
        self.groups = groups
    }
}
