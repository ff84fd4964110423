import GatehouseDomain
import GatehouseService
import HTTPTypes
import Hummingbird

/// Membership webhooks: no bearer token; each delivery is authenticated by its signature.
struct WebhookRoutes {
    let gatehouse: Gatehouse

    func register(_ api: Registrar) {
        api.add(.post, "/v1/webhooks/github") { request, context in
            let body = try await Self.body(request, context)
            let result = try await gatehouse.handleGitHubWebhook(
                body: body, signature: request.headers[Self.hubSignature], event: request.headers[Self.githubEvent],
                delivery: request.headers[Self.githubDelivery])
            return Self.respond(result)
        }
        api.add(.post, "/v1/webhooks/gitlab") { request, context in
            let body = try await Self.body(request, context)
            let result = try await gatehouse.handleGitLabWebhook(
                body: body, token: request.headers[Self.gitlabToken], event: request.headers[Self.gitlabEvent],
                delivery: request.headers[Self.gitlabUUID])
            return Self.respond(result)
        }
    }

    static let hubSignature = HTTPField.Name("X-Hub-Signature-256")!
    static let githubEvent = HTTPField.Name("X-GitHub-Event")!
    static let githubDelivery = HTTPField.Name("X-GitHub-Delivery")!
    static let gitlabToken = HTTPField.Name("X-Gitlab-Token")!
    static let gitlabEvent = HTTPField.Name("X-Gitlab-Event")!
    static let gitlabUUID = HTTPField.Name("X-Gitlab-Event-UUID")!

    /// The raw body: signatures are over exactly these bytes. Deliveries are JSON (a GitHub
    /// webhook set to the form content type is refused with 415 and says so).
    static func body(_ request: Request, _ context: GatehouseContext) async throws -> [UInt8] {
        try request.requireJSONContentType()
        return Array(try await request.body.collect(upTo: context.maxUploadSize).readableBytesView)
    }

    /// 200 for a change applied (or a replay of one), 202 for an event that changes nothing.
    static func respond(_ result: WebhookResult) -> Response {
        Response.json(result.json, status: result.status == .ignored ? .accepted : .ok)
    }
}
