import GatehouseDomain
import Hummingbird
import NIOCore

/// Per-request state: the authenticated token, once the bearer middleware has run.
public struct GatehouseContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `BearerAuthMiddleware`; its name is the audit actor for changes.
    public var token: TokenRecord?
    /// The peer that sent the request (the reverse proxy, for the gate).
    public let remoteAddress: SocketAddress?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Request bodies larger than 1 MiB are refused with 413 (SPEC section 6).
    public var maxUploadSize: Int { HTTPLimits.maxBodyBytes }

    /// The audit actor for a change made through this request.
    public var actor: String { token.map { "token:\($0.name)" } ?? "anonymous" }
}

public enum HTTPLimits {
    public static let maxBodyBytes = 1 << 20
}
