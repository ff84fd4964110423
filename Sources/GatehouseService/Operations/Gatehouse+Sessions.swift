import Foundation
import GatehouseDomain
import GatehouseStorage

extension GateSession {
    /// How a session is listed (`sessions list`, `GET /v1/sessions`): never its secret or hash.
    public var json: JSONValue {
        [
            "id": .string(id), "person": .string(personID), "identity": .string(identity.description), "signin": .string(signIn),
            "created_at": .string(UTC.format(createdAt)), "expires_at": .string(UTC.format(expiresAt)),
            "last_seen_at": .string(UTC.format(lastSeenAt)), "user_agent": .string(userAgent), "address": .string(address),
        ]
    }

    public var line: String {
        "\(id)\t\(identity)\t\(personID)\tvia \(signIn)\tsince \(UTC.format(createdAt))\tseen \(UTC.format(lastSeenAt))\t\(address)"
    }
}

extension Gatehouse {
    /// Live sessions, of one person (`provider:username`, person id or e-mail) when given.
    public func listSessions(user: String?) async throws -> [GateSession] {
        var personID: String?
        if let user { personID = try await resolveUser(user).id }
        return try await store.sessions(personID: personID)
    }

    /// Ends one session by id, or every session of a person; audited with `actor`. Every
    /// replica refuses the session within a second (the audit head moves; each catches up).
    public func revokeSessions(id: String?, user: String?, all: Bool = false, actor: String) async throws -> [GateSession] {
        let selection: SessionSelection
        switch (id, user) {
        case (nil, nil) where all:
            selection = .all
        case (let id?, nil) where !all:
            guard SignInSecrets.isSessionID(id) else {
                throw GatehouseError(.invalidSessionId,
                    "\"\(id)\" is not a session id (s_ and 20 characters, from `gatehouse sessions list`)")
            }
            selection = .ids([id])
        case (nil, let user?) where !all:
            selection = .person(try await resolveUser(user).id)
        default:
            throw GatehouseError(.invalidRequest, "name one of: a session id, a user, or all sessions")
        }
        let ended = try await endSessions(selection, reason: "revoked", actor: actor)
        if ended.isEmpty, case .ids = selection {
            throw GatehouseError(.sessionNotFound, "no live session \(id ?? "")")
        }
        return ended
    }

    /// Stores a new session (a sign-in, a console link) and puts it in memory at once.
    func start(_ session: GateSession, actor: String) async throws {
        try await store.startSession(session, actor: actor, at: session.createdAt)
        // Memory holds what a reload would read: times to the millisecond, as stored.
        var held = session
        for time in [\GateSession.createdAt, \.expiresAt, \.lastSeenAt] { held[keyPath: time] = UTC.asStored(held[keyPath: time]) }
        live.apply { [held] in $0.index.insert(held) }
    }

    /// Ends sessions in the database and in this process's memory.
    @discardableResult
    func endSessions(_ selection: SessionSelection, reason: String, actor: String) async throws -> [GateSession] {
        let ended = try await store.endSessions(selection, reason: reason, actor: actor, at: now())
        if !ended.isEmpty { live.apply { for s in ended { $0.index.removeSession(id: s.id) } } }
        return ended
    }

    /// Ends sessions past their absolute end, or idle (with two minutes of grace for last-seen
    /// times not yet written by any replica). Run on one replica at a time.
    public func sweepSessions() async throws -> [GateSession] {
        guard let gate else { return [] }
        try await flushBookkeeping()
        let t = now()
        return try await endSessions(
            .expired(at: t, idleBefore: t.addingTimeInterval(-gate.session.idleTimeout - 120)), reason: "expired", actor: "system")
    }
}
