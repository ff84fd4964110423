import Foundation
import GatehouseDomain

extension SQLStore {
    public func queueNotifications(_ drafts: [NotificationDraft], actor: String, at: Date) async throws -> [NotificationDraft] {
        guard !drafts.isEmpty else { return [] }
        return try await write { db in
            let stamp = UTC.format(at, milliseconds: true)
            var queued: [NotificationDraft] = []
            for draft in drafts {
                let o = draft.occurrence
                let inserted = try db.execute(
                    """
                    INSERT INTO notifications (channel, occurrence, event, subject, body, details, raised_at, state, attempts, next_attempt_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
                    ON CONFLICT (channel, occurrence) DO NOTHING
                    """, [draft.channel, o.key, o.event.rawValue, o.subject, o.text, o.details.canonicalText, stamp, stamp])
                guard inserted == 1 else { continue }
                try SQLStore.appendAudit(db, AuditDrafts.notificationQueued(actor: actor, draft), at: at)
                queued.append(draft)
            }
            return queued
        }
    }

    public func claimDueNotifications(holder: String, until: Date, at: Date, limit: Int) async throws -> [StoredNotification] {
        let now = UTC.format(at, milliseconds: true)
        // Looked for in a read: every replica asks every few seconds, and mostly nothing is due,
        // so the write lock is taken only when there is something to claim.
        let due = try await read { db in
            try db.values(
                as: Int64.self,
                """
                SELECT id FROM notifications
                WHERE state = 'pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?)
                ORDER BY next_attempt_at, id LIMIT ?
                """, [now, now, limit])
        }
        guard !due.isEmpty else { return [] }
        return try await write { db in
            var claimed: [StoredNotification] = []
            for id in due {
                // The condition again: another replica may have claimed it since the SELECT.
                let won = try db.execute(
                    """
                    UPDATE notifications SET claimed_by = ?, claimed_until = ?
                    WHERE id = ? AND state = 'pending' AND (claimed_until IS NULL OR claimed_until <= ?)
                    """, [holder, UTC.format(until, milliseconds: true), id, now])
                if won == 1, let row = try db.row("SELECT * FROM notifications WHERE id = ?", [id]) {
                    claimed.append(try SQLStore.notification(row))
                }
            }
            return claimed
        }
    }

    public func recordNotificationOutcome(
        _ notification: StoredNotification, _ outcome: NotificationOutcome, holder: String, actor: String, at: Date
    ) async throws -> Bool {
        try await write { db in
            let attempts = notification.attempts + 1
            let (state, next, error): (StoredNotification.State, Date, String?) =
                switch outcome {
                case .sent: (.sent, at, nil)
                case .retry(let error, let next): (.pending, next, error)
                case .gaveUp(let error): (.failed, at, error)
                }
            let updated = try db.execute(
                """
                UPDATE notifications SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, sent_at = ?,
                    claimed_by = NULL, claimed_until = NULL
                WHERE id = ? AND claimed_by = ? AND state = 'pending'
                """,
                [
                    state.rawValue, attempts, UTC.format(next, milliseconds: true), error,
                    outcome == .sent ? UTC.format(at, milliseconds: true) : nil, notification.id, holder,
                ])
            guard updated == 1 else { return false }
            try SQLStore.appendAudit(db, AuditDrafts.notificationOutcome(actor: actor, notification, outcome, attempts: attempts), at: at)
            return true
        }
    }

    public func notifications(limit: Int) async throws -> [StoredNotification] {
        try await read { db in
            try db.rows("SELECT * FROM notifications ORDER BY raised_at DESC, id DESC LIMIT ?", [limit]).map(SQLStore.notification)
        }
    }

    public func notificationCounts() async throws -> [NotificationCount] {
        try await read { db in
            try db.rows("SELECT channel, state, COUNT(*) AS n FROM notifications GROUP BY channel, state ORDER BY channel, state").map {
                row in
                try NotificationCount(
                    channel: row["channel"], state: row.value("state", as: StoredNotification.State.self), count: row["n"])
            }
        }
    }

    public func appendAudit(_ draft: AuditDraft, at: Date) async throws {
        try await write { db in _ = try SQLStore.appendAudit(db, draft, at: at) }
    }

    static func notification(_ row: SQLRow) throws -> StoredNotification {
        let detailsText: String = try row["details"]
        guard let details = try? JSONValue.parse(Array(detailsText.utf8)) else {
            throw StoreError(.corrupt, "column details of notification holds no JSON")
        }
        return try StoredNotification(
            id: row["id"], channel: row["channel"], event: row["event"], key: row["occurrence"], subject: row["subject"], text: row["body"],
            details: details, raisedAt: row.time("raised_at"), state: row.value("state", as: StoredNotification.State.self),
            attempts: row["attempts"], nextAttemptAt: row.time("next_attempt_at"), lastError: row["last_error"],
            sentAt: row.optionalTime("sent_at"))
    }
}
