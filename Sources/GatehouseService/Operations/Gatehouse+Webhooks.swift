import Foundation
import GatehouseDomain
import GatehouseStorage

/// Shared secrets for the membership webhooks (never logged or printed).
public struct WebhookSecrets: Sendable {
    public var github: String?
    public var gitlab: String?

    public init(github: String? = nil, gitlab: String? = nil) {
        self.github = github
        self.gitlab = gitlab
    }
}

/// What happened to a webhook delivery.
public struct WebhookResult: Sendable, Equatable {
    public enum Status: String, Sendable { case applied, duplicate, ignored }
    public var status: Status
    public var message: String

    public var json: JSONValue { ["status": .string(status.rawValue), "message": .string(message)] }
}

extension Gatehouse {
    /// `POST /v1/webhooks/github`: `organization` (member_added, member_removed) and
    /// `membership` (team added, removed). The signature is checked before anything is read.
    public func handleGitHubWebhook(body: [UInt8], signature: String?, event: String?, delivery: String?) async throws -> WebhookResult {
        guard let secret = webhooks.github else {
            throw GatehouseError(.webhookNotConfigured, "the GitHub webhook is not configured (webhooks.github.secret_file or GATEHOUSE_GITHUB_WEBHOOK_SECRET)")
        }
        if let refusal = WebhookSignature.verifyGitHub(body: body, header: signature, secret: secret) {
            throw GatehouseError(.webhook(refusal), refusal.message)
        }
        let deliveryID = try Self.deliveryID(delivery, header: "X-GitHub-Delivery")
        guard let event, !event.isEmpty else { throw GatehouseError(.missingEvent, "the X-GitHub-Event header is missing") }
        let payload = try Self.payload(body)
        func string(_ path: String...) -> String? {
            var value: JSONValue? = payload
            for key in path { value = value?[key] }
            if case .string(let s)? = value { return s }
            if case .int(let i)? = value { return String(i) }
            return nil
        }
        let digest = sha256Hex(body)
        let record = { (outcome: String) in
            WebhookDelivery(provider: "github", id: deliveryID, event: event, outcome: outcome, bodySHA256: digest)
        }
        let action = string("action") ?? ""
        switch (event, action) {
        case ("organization", "member_added"), ("organization", "member_removed"):
            guard let login = string("membership", "user", "login"), let org = string("organization", "login") else {
                throw GatehouseError(.invalidPayload, "organization events need membership.user.login and organization.login")
            }
            return try await applyMembership(
                record("\(action) \(org)"), user: IdentityRef(provider: .github, username: login), externalID: string("membership", "user", "id"),
                kind: .org, name: org, present: action == "member_added")
        case ("membership", "added"), ("membership", "removed"):
            guard let login = string("member", "login"), let team = string("team", "slug"), let org = string("organization", "login") else {
                throw GatehouseError(.invalidPayload, "membership events need member.login, team.slug and organization.login")
            }
            return try await applyMembership(
                record("\(action) \(org)/\(team)"), user: IdentityRef(provider: .github, username: login), externalID: string("member", "id"),
                kind: .team, name: "\(org)/\(team)", present: action == "added")
        default:
            return try await ignore(record("ignored"), "\(event)\(action.isEmpty ? "" : " (\(action))") is not a membership change")
        }
    }

    /// `POST /v1/webhooks/gitlab`: group member events (`user_add_to_group`, `user_remove_from_group`).
    public func handleGitLabWebhook(body: [UInt8], token: String?, event: String?, delivery: String?) async throws -> WebhookResult {
        guard let secret = webhooks.gitlab else {
            throw GatehouseError(.webhookNotConfigured, "the GitLab webhook is not configured (webhooks.gitlab.token_file or GATEHOUSE_GITLAB_WEBHOOK_TOKEN)")
        }
        if let refusal = WebhookSignature.verifyGitLab(header: token, token: secret) {
            throw GatehouseError(.webhook(refusal), refusal.message)
        }
        let payload = try Self.payload(body)
        // GitLab sends an event UUID; without one, the body itself identifies the delivery.
        let digest = sha256Hex(body)
        let deliveryID = try Self.deliveryID(delivery ?? digest, header: "X-Gitlab-Event-UUID")
        guard case .string(let name)? = payload["event_name"] else {
            throw GatehouseError(.invalidPayload, "GitLab events carry event_name")
        }
        // The membership's `updated_at` dates the change: an older one than already applied is stale.
        let eventAt: Date? = if case .string(let text)? = payload["updated_at"] { Self.gitLabTime(text) } else { nil }
        let record = { (outcome: String) in
            WebhookDelivery(provider: "gitlab", id: deliveryID, event: event ?? name, outcome: outcome, bodySHA256: digest, eventAt: eventAt)
        }
        switch name {
        case "user_add_to_group", "user_remove_from_group":
            guard case .string(let username)? = payload["user_username"], case .string(let group)? = payload["group_path"] else {
                throw GatehouseError(.invalidPayload, "group member events need user_username and group_path")
            }
            let externalID: String? = if case .int(let id)? = payload["user_id"] { String(id) } else { nil }
            return try await applyMembership(
                record("\(name) \(group)"), user: IdentityRef(provider: .gitlab, username: username), externalID: externalID, kind: .org,
                name: group, present: name == "user_add_to_group")
        default:
            return try await ignore(record("ignored"), "\(name) is not a group membership change")
        }
    }

    // MARK: steps

    /// How long the body of an applied delivery is remembered: a body seen again within it,
    /// under any delivery id, is a replay. GitHub redelivers (keeping the id) for 3 days.
    public static let webhookReplayWindow: TimeInterval = 72 * 3600

    /// GitLab's times: `2020-12-11T04:57:22Z`, with an offset, or `2012-07-21 07:30:54 UTC`.
    static func gitLabTime(_ text: String) -> Date? {
        if let t = UTC.parseTimestamp(text) { return t }
        if let t = try? Date(text, strategy: .iso8601) { return t }
        if text.hasSuffix(" UTC") {
            return UTC.parseTimestamp(text.dropLast(4).replacingOccurrences(of: " ", with: "T") + "Z")
        }
        return nil
    }

    /// Records a delivery (and its change); what to answer when nothing was applied.
    func record(_ delivery: WebhookDelivery, change: MembershipRecord?, at t: Date) async throws -> WebhookResult? {
        let since = t.addingTimeInterval(-Self.webhookReplayWindow), actor = "webhook:\(delivery.provider)"
        let outcome = try await store.applyWebhook(delivery, at: t) {
            try WebhookRules.judge(delivery, change: change, replaySince: since, actor: actor, facts: $0)
        }
        switch outcome {
        case .applied:
            return nil
        case .duplicate:
            return WebhookResult(status: .duplicate, message: "delivery \(delivery.id) was already handled")
        case .replay(let earlier, let receivedAt):
            return WebhookResult(
                status: .duplicate,
                message: "this body was already applied as delivery \(earlier) at \(UTC.format(receivedAt)); a replay under a new delivery id changes nothing")
        case .stale(let newest):
            return WebhookResult(
                status: .ignored,
                message: "the change is dated \(delivery.eventAt.map { UTC.format($0) } ?? "?"), before the newest applied for this membership (\(UTC.format(newest))): nothing changed")
        }
    }

    static func deliveryID(_ value: String?, header: String) throws(GatehouseError) -> String {
        guard let value, !value.isEmpty, value.utf8.count <= 128 else {
            throw GatehouseError(.missingDelivery, "the \(header) header is missing or too long")
        }
        return value
    }

    static func payload(_ body: [UInt8]) throws(GatehouseError) -> JSONValue {
        do {
            let value = try JSONValue.parse(body)
            guard case .object = value else { throw GatehouseError(.invalidPayload, "the payload must be a JSON object") }
            return value
        } catch let error as JSONParseError {
            throw GatehouseError(.malformedJson, "the body is not valid JSON: \(error)")
        } catch {
            throw error as! GatehouseError
        }
    }

    func ignore(_ delivery: WebhookDelivery, _ why: String) async throws -> WebhookResult {
        try await record(delivery, change: nil, at: now()) ?? WebhookResult(status: .ignored, message: why)
    }

    /// Records a membership change for a known identity. Someone Gatehouse has never seen has
    /// nothing to change: their next login carries their memberships.
    func applyMembership(
        _ delivery: WebhookDelivery, user: IdentityRef, externalID: String?, kind: MembershipKind, name: String, present: Bool
    ) async throws -> WebhookResult {
        try await ensureLoaded()
        let actor = "webhook:\(delivery.provider)"
        guard let identity = live.read({ $0.index.lookup(user, externalID: externalID).0 }) else {
            return try await ignore(delivery, "\(user) is not known to Gatehouse; nothing to change")
        }
        let change = MembershipRecord(identityID: identity.id, kind: kind, name: name, source: .webhook, present: present)
        let t = now()
        if let unapplied = try await record(delivery, change: change, at: t) { return unapplied }
        live.apply { $0.index.setMembership(change) }
        var message = "\(user) \(present ? "joined" : "left") \(kind.rawValue) \(name.lowercased())"
        if !present, try await releaseSeatIfNoLongerAllowed(identity, actor: actor, reason: "left \(kind.rawValue) \(name.lowercased())", at: t) {
            message += "; no longer in an allowed \(kind == .team ? "team" : "org"): seat released"
        }
        return WebhookResult(status: .applied, message: message)
    }

    /// After a removal: if the identity's known memberships no longer satisfy the login
    /// policy for its provider, its person's seat goes back to the pool (audited).
    func releaseSeatIfNoLongerAllowed(_ identity: IdentityRecord, actor: String, reason: String, at t: Date) async throws -> Bool {
        let (refusal, facts) = live.read { s -> (DecisionReason?, PersonFacts?) in
            guard let restriction = s.policy.login.restrictions[identity.ref.provider] else { return (nil, nil) }
            let (orgs, teams) = s.index.effectiveMemberships(of: identity.id, includeStoredClaims: true)
            let facts = s.index.facts(identity.personID)
            let login = LoginFacts(identity: identity.ref, person: facts, orgs: orgs, teams: teams, licenseState: .valid)
            return (LoginDecider.membershipRefusal(login, restriction), facts)
        }
        guard refusal != nil, let facts, facts.seat == .active else { return false }
        let committed = try await releaseSeat(facts.id, actor: actor, reason: reason)
        commit(committed)
        return committed.changed
    }
}
