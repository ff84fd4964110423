import Foundation
import GatehouseDomain

/// The gate's sessions and pending sign-ins (SPEC section 10). Starting and ending a session
/// is audited (`session.start`, `session.end`); last-seen times and pending sign-ins are
/// bookkeeping, not chained.
public protocol SessionStore: Sendable {
    /// Stores a new session, audited `session.start` in the same transaction.
    func startSession(_ session: GateSession, actor: String, at: Date) async throws
    /// Ends the selected sessions, one `session.end` entry each (with `reason`); the ended ones.
    func endSessions(_ selection: SessionSelection, reason: String, actor: String, at: Date) async throws -> [GateSession]
    /// Live sessions, newest first; of one person when given.
    func sessions(personID: String?) async throws -> [GateSession]
    func session(tokenHash: String) async throws -> GateSession?
    /// Last-seen times by session id, batched; never moves one back.
    func touchSessions(_ times: [String: Date]) async throws
    /// Records a sign-in under way (and forgets expired ones).
    func saveSignInAttempt(_ attempt: SignInAttempt, at: Date) async throws
    /// Takes (deletes) the sign-in with this state hash; `nil` if there is none or it expired.
    /// A state works once: a second callback with it finds nothing.
    func takeSignInAttempt(stateHash: String, at: Date) async throws -> SignInAttempt?
    /// Stores a console sign-in link's hash for `identity` until `expiresAt`, audited
    /// `console.link` (the identity, never the link) in the same transaction.
    func createConsoleLink(tokenHash: String, identity: IdentityRef, expiresAt: Date, actor: String, at: Date) async throws
    /// Takes (deletes) the link with this hash; its identity if it had not expired. Once only.
    func takeConsoleLink(tokenHash: String, at: Date) async throws -> IdentityRef?
}
