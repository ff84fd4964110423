import Foundation
import GatehouseDomain

/// What the directory sync keeps: the `ldap:` people, their groups, and the sync's own state.
public protocol DirectoryStore: Sendable {
    /// Every `ldap:` identity with its person and directory groups, and the state version read.
    func directoryPeople() async throws -> StoredDirectory
    /// Computes a plan with `decide` from the directory people held, inside one write
    /// transaction, applies it with its audit entries and records the sync as successful.
    /// `prefetched` (read earlier, e.g. while the directory was being read) is used when no
    /// change has been made since; otherwise the people are read again inside the transaction.
    /// When `decide` throws or returns a plan with a `refusal`, nothing changes.
    func applyDirectorySync(
        prefetched: StoredDirectory?, actor: String, at: Date, _ decide: @escaping @Sendable ([StoredDirectoryPerson]) throws -> DirectoryPlan
    ) async throws -> DirectoryPlan
    /// Records a failed attempt (bookkeeping, not a change of state: nothing else moves).
    func recordDirectoryFailure(_ message: String, at: Date) async throws
    func directorySyncState() async throws -> DirectorySyncState?
}

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

    public init(lastAttemptAt: Date, lastSuccessAt: Date?, lastError: String?, people: Int64, groups: Int64) {
        self.lastAttemptAt = lastAttemptAt
        self.lastSuccessAt = lastSuccessAt
        self.lastError = lastError
        self.people = people
        self.groups = groups
    }
}
