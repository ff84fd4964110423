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
    /// Records a failed attempt (bookkeeping, not a change of state: nothing else moves);
    /// `refused`: the removal guard refused the sync (kept apart, for its notification).
    func recordDirectoryFailure(_ message: String, refused: Bool, at: Date) async throws
    func directorySyncState() async throws -> DirectorySyncState?
}
