import Foundation
import GatehouseDomain

extension SQLStore {
    public func startSession(_ session: GateSession, actor: String, at: Date) async throws {
        try await write { db in
            try db.execute(
                """
                INSERT INTO sessions (id, token_hash, person_id, identity, signin, created_at, expires_at, last_seen_at, user_agent, address)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    session.id, session.tokenHash, session.personID, session.identity.description, session.signIn,
                    UTC.format(session.createdAt, milliseconds: true), UTC.format(session.expiresAt, milliseconds: true),
                    UTC.format(session.lastSeenAt, milliseconds: true), session.userAgent, session.address,
                ])
            try SQLStore.appendAudit(db, AuditDrafts.sessionStart(actor: actor, session), at: at)
        }
    }

    public func endSessions(_ selection: SessionSelection, reason: String, actor: String, at: Date) async throws -> [GateSession] {
        try await write { db in try SQLStore.endSessions(db, selection, reason: reason, actor: actor, at: at) }
    }

    /// Ends sessions inside the caller's transaction: a block, a departure or a released seat
    /// ends the person's sessions in the very transaction that makes the change.
    @discardableResult
    static func endSessions(_ db: any SQLSession, _ selection: SessionSelection, reason: String, actor: String, at: Date) throws
        -> [GateSession]
    {
        let (condition, arguments) = condition(selection, db.dialect)
        let ended = try db.rows("SELECT * FROM sessions WHERE \(condition) ORDER BY id", arguments).map(SQLStore.session)
        guard !ended.isEmpty else { return [] }
        try db.executeLater("DELETE FROM sessions WHERE \(condition)", arguments)
        db.chainHead.endedSessions += ended.map(\.id)
        for session in ended {
            try appendAudit(db, AuditDrafts.sessionEnd(actor: actor, session, reason: reason), at: at)
        }
        return ended
    }

    private static func condition(_ selection: SessionSelection, _ dialect: SQLDialect) -> (String, [(any SQLBindable)?]) {
        switch selection {
        case .ids(let ids):
            let list = JSONValue.array(ids.map { .array([.string($0)]) }).canonicalText
            return ("id IN (SELECT value ->> 0 FROM \(dialect.jsonArrayElements))", [list])
        case .person(let id):
            return ("person_id = ?", [id])
        case .all:
            return ("1 = 1", [])
        case .expired(let at, let idleBefore):
            return (
                "(expires_at <= ? OR last_seen_at < ?)", [UTC.format(at, milliseconds: true), UTC.format(idleBefore, milliseconds: true)]
            )
        }
    }

    public func sessions(personID: String?) async throws -> [GateSession] {
        try await read { db in
            if let personID {
                return try db.rows("SELECT * FROM sessions WHERE person_id = ? ORDER BY created_at DESC, id", [personID]).map(
                    SQLStore.session)
            }
            return try db.rows("SELECT * FROM sessions ORDER BY created_at DESC, id").map(SQLStore.session)
        }
    }

    public func session(tokenHash: String) async throws -> GateSession? {
        try await read { db in try db.row("SELECT * FROM sessions WHERE token_hash = ?", [tokenHash]).map(SQLStore.session) }
    }

    public func touchSessions(_ times: [String: Date]) async throws {
        guard !times.isEmpty else { return }
        try await write { db in
            for (id, time) in times {
                let stamp = UTC.format(time, milliseconds: true)
                try db.executeLater("UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?", [stamp, id, stamp])
            }
        }
    }

    public func saveSignInAttempt(_ attempt: SignInAttempt, at: Date) async throws {
        try await write { db in
            try db.executeLater("DELETE FROM signin_attempts WHERE expires_at <= ?", [UTC.format(at, milliseconds: true)])
            try db.execute(
                "INSERT INTO signin_attempts (state_hash, binding_hash, provider, redirect, expires_at) VALUES (?, ?, ?, ?, ?)",
                [
                    attempt.stateHash, attempt.bindingHash, attempt.provider, attempt.redirect,
                    UTC.format(attempt.expiresAt, milliseconds: true),
                ])
        }
    }

    public func takeSignInAttempt(stateHash: String, at: Date) async throws -> SignInAttempt? {
        try await write { db in
            guard let row = try db.row("SELECT * FROM signin_attempts WHERE state_hash = ?", [stateHash]) else { return nil }
            try db.execute("DELETE FROM signin_attempts WHERE state_hash = ?", [stateHash])
            let expires = try row.time("expires_at")
            guard expires > at else { return nil }
            return try SignInAttempt(
                stateHash: row["state_hash"], bindingHash: row["binding_hash"], provider: row["provider"], redirect: row["redirect"],
                expiresAt: expires)
        }
    }

    public func createConsoleLink(tokenHash: String, identity: IdentityRef, expiresAt: Date, actor: String, at: Date) async throws {
        try await write { db in
            try db.execute("DELETE FROM console_links WHERE expires_at <= ?", [UTC.format(at, milliseconds: true)])
            try db.execute(
                "INSERT INTO console_links (token_hash, identity, expires_at) VALUES (?, ?, ?)",
                [tokenHash, identity.description, UTC.format(expiresAt, milliseconds: true)])
            try SQLStore.appendAudit(
                db,
                AuditDraft(
                    actor: actor, action: "console.link", subject: identity.description,
                    details: ["expires_at": .string(UTC.format(expiresAt))]), at: at)
        }
    }

    public func takeConsoleLink(tokenHash: String, at: Date) async throws -> IdentityRef? {
        try await write { db in
            guard let row = try db.row("SELECT * FROM console_links WHERE token_hash = ?", [tokenHash]) else { return nil }
            try db.execute("DELETE FROM console_links WHERE token_hash = ?", [tokenHash])
            guard try row.time("expires_at") > at else { return nil }
            let text: String = try row["identity"]
            guard let identity = IdentityRef.parse(text) else { throw StoreError(.corrupt, "a console link names no identity") }
            return identity
        }
    }

    static func session(_ row: SQLRow) throws -> GateSession {
        let identityText: String = try row["identity"]
        guard let identity = IdentityRef.parse(identityText) else {
            throw StoreError(.corrupt, "column identity holds \"\(identityText.prefix(40))\", not an identity")
        }
        return try GateSession(
            id: row["id"], tokenHash: row["token_hash"], personID: row["person_id"], identity: identity, signIn: row["signin"],
            createdAt: row.time("created_at"), expiresAt: row.time("expires_at"), lastSeenAt: row.time("last_seen_at"), userAgent: row["user_agent"], address: row["address"])
    }
}
