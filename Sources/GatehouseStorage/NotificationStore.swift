import Foundation
import GatehouseDomain

/// The notification outbox (SPEC section 12): occurrences queued once per channel, claimed by
/// one replica at a time for delivery, with every step audited.
public protocol NotificationStore: Sendable {
    /// Queues the drafts not queued before (`(channel, key)` is unique), each with its audit
    /// entry, in one transaction; returns those queued now.
    func queueNotifications(_ drafts: [NotificationDraft], actor: String, at: Date) async throws -> [NotificationDraft]
    /// Claims up to `limit` pending notifications due at `at` for `holder` until `until` (a
    /// claim another holder has let lapse may be taken); oldest first.
    func claimDueNotifications(holder: String, until: Date, at: Date, limit: Int) async throws -> [StoredNotification]
    /// Records an attempt's outcome with its audit entry, if `holder` still holds the claim;
    /// `false` (nothing written) if not.
    @discardableResult
    func recordNotificationOutcome(
        _ notification: StoredNotification, _ outcome: NotificationOutcome, holder: String, actor: String, at: Date
    )
        async throws -> Bool
    /// The newest notifications first (at most `limit`).
    func notifications(limit: Int) async throws -> [StoredNotification]
    /// How many notifications each channel has in each state.
    func notificationCounts() async throws -> [NotificationCount]
    /// Appends an audit entry that accompanies no other change (a test message sent by hand).
    func appendAudit(_ draft: AuditDraft, at: Date) async throws
}
