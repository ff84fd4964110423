import Foundation
import GatehouseDomain
import GatehouseService
import HTTPTypes
import Hummingbird
import NIOCore

/// The gate (SPEC section 10): forward auth for the reverse proxy in front of Codecov, and the
/// sign-in pages people reach through it at `/gate/…` of the public origin.
struct GateRoutes {
    let gatehouse: Gatehouse
    let metrics: GatehouseMetrics
    let pages = Pages.shared

    /// Every method a proxy may ask with (Envoy keeps the original request's).
    static let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]

    func register(_ api: Registrar) {
        for method in Self.methods {
            api.add(method, "/gate/auth") { request, context in try await auth(request, context) }
            // Envoy ext_authz: the original path follows the prefix.
            api.add(method, "/gate/auth/**", documentedAs: "/gate/auth/{path}") { request, context in try await auth(request, context) }
        }
        api.add(.get, "/gate/sign-in") { request, context in try await signIn(request) }
        api.add(.get, "/gate/callback/{provider}") { request, context in try await callback(request, context) }
        api.add(.get, "/gate/sign-out") { request, _ in try await signOutPage(request) }
        api.add(.post, "/gate/sign-out") { request, context in try await signOut(request, context) }
        api.add(.get, "/gate/session") { request, _ in try await session(request) }
        api.add(.get, "/gate/refused") { request, _ in try await refusedPage(request) }
        api.add(.get, "/gate/static/gate.css") { _, _ in
            .text(Pages.stylesheet, contentType: "text/css; charset=utf-8", headers: [.cacheControl: "public, max-age=3600"])
        }
    }

    // MARK: forward auth

    func auth(_ request: Request, _ context: GatehouseContext) async throws -> Response {
        let peer = context.remoteAddress?.ipAddressValue
        let answer = await gatehouse.gateAuth(peer: peer, method: request.method.rawValue, path: request.uri.description) { name in
            (Self.known[name] ?? HTTPField.Name(name)).map { request.headers[values: $0] } ?? []
        }
        let reply = GateReply(
            answer, redirect: request.uri.queryParameters["redirect"] == "1", wantsHTML: request.wantsHTML, help: gatehouse.gateHelpNow(),
            metrics: metrics)
        var headers = HTTPFields()
        for (name, value) in reply.headers { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return Response(status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: reply.body)))
    }

    /// The header names the gate reads, made once (not per request).
    static let known: [String: HTTPField.Name] = Dictionary(
        uniqueKeysWithValues: [
            "X-Original-URI", "X-Original-Method", "X-Original-URL", "X-Forwarded-Uri", "X-Forwarded-Method", "X-Forwarded-Host",
            "X-Forwarded-Proto", "Host", "Cookie",
        ].map { ($0, HTTPField.Name($0)!) })

    static let user = HTTPField.Name("X-Gatehouse-User")!
    static let person = HTTPField.Name("X-Gatehouse-Person")!
    static let email = HTTPField.Name("X-Gatehouse-Email")!
    static let role = HTTPField.Name("X-Gatehouse-Role")!
    static let signInHeader = HTTPField.Name("X-Gatehouse-Sign-In")!
    static let reason = HTTPField.Name("X-Gatehouse-Reason")!

    /// The refusal page: who, why, whom to ask.
    func refusal(_ reason: DecisionReason, identity: String?, headers: HTTPFields = [:]) async -> Response {
        var values: [String: Any] = [
            "explanation": Gatehouse.explanation(reason), "reason": reason.rawValue, "help": await gatehouse.gateHelp(),
        ]
        if let identity {
            values["identity"] = identity
            values["signOut"] = true
        }
        return pages.render("gate-refused", values, status: .forbidden, headers: headers)
    }

    /// `/gate/refused?reason=…`: the same page for proxies that show their own 403 (nginx's
    /// `error_page`). It grants nothing: who is read from the session cookie, the reason only
    /// chooses which explanation to print.
    func refusedPage(_ request: Request) async throws -> Response {
        let reason = request.uri.queryParameters["reason"].flatMap { DecisionReason(rawValue: String($0)) }
        let holder = try? await gatehouse.sessionHolder(cookieHeader: cookieHeader(request))
        guard let reason else {
            return pages.message(
                "Access refused", "Codecov refused this request. If you think that is wrong, ask \(await gatehouse.gateHelp()).",
                status: .forbidden)
        }
        return await refusal(reason, identity: holder?.session.identity.description)
    }

    // MARK: sign-in

    func signIn(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        do {
            switch try await gatehouse.beginSignIn(rd: query["rd"].map(String.init), with: query["with"].map(String.init)) {
            case .choose(let choices):
                return pages.render("gate-choose", ["choices": choices.map { ["url": $0.url, "displayName": $0.displayName] }])
            case .redirect(let url, let cookie):
                return Response(status: .found, headers: [.location: url, .setCookie: cookie, .cacheControl: "no-store"])
            }
        } catch {
            return errorPage(error)
        }
    }

    func callback(_ request: Request, _ context: GatehouseContext) async throws -> Response {
        let query = request.uri.queryParameters
        let provider = try context.parameter("provider")
        let clear = gatehouse.gate.map { $0.cookies.clearCookie($0.cookies.signIn) }
        do {
            let outcome = try await gatehouse.completeSignIn(
                provider: provider, code: query["code"].map(String.init), state: query["state"].map(String.init),
                error: query["error"].map(String.init), cookieHeader: cookieHeader(request),
                userAgent: request.headers[.userAgent] ?? "", address: context.remoteAddress?.ipAddress ?? "")
            switch outcome {
            case .signedIn(let redirect, let cookie, _):
                var headers: HTTPFields = [.location: redirect, .setCookie: cookie, .cacheControl: "no-store"]
                if let clear { headers.append(HTTPField(name: .setCookie, value: clear)) }
                return Response(status: .found, headers: headers)
            case .refused(let identity, _, let reason):
                var headers: HTTPFields = [Self.reason: reason.rawValue]
                if let clear { headers[.setCookie] = clear }
                var values: [String: Any] = [
                    "explanation": Gatehouse.explanation(reason), "reason": reason.rawValue, "help": await gatehouse.gateHelp(),
                    "identity": identity.description,
                ]
                values["signOut"] = false
                return pages.render("gate-refused", values, status: .forbidden, headers: headers)
            }
        } catch {
            var response = errorPage(error)
            if let clear { response.headers.append(HTTPField(name: .setCookie, value: clear)) }
            return response
        }
    }

    /// A failure of the sign-in flow as a page (never a stack of JSON for a person).
    func errorPage(_ error: any Error) -> Response {
        guard let known = GatehouseError.from(error) else {
            return pages.message("Sign-in failed", "Something went wrong; the server log says what.", status: .internalServerError)
        }
        let again = (href: "/gate/sign-in", text: "Start again")
        switch known.kind {
        case .unavailable: return pages.message("Sign-in is unavailable", known.message, link: again, status: .serviceUnavailable)
        case .notFound: return pages.message("Not found", known.message, status: .notFound)
        case .forbidden: return pages.message("Sign-in refused", known.message, link: again, status: .forbidden)
        default: return pages.message("Sign-in failed", known.message, link: again, status: known.kind.status)
        }
    }

    // MARK: session and sign-out

    func session(_ request: Request) async throws -> Response {
        guard let holder = try await gatehouse.sessionHolder(cookieHeader: cookieHeader(request)) else {
            return .error(.unauthorized, code: "no_session", message: "not signed in", headers: [.cacheControl: "no-store"])
        }
        var json = holder.session.json
        if case .object(var fields) = json {
            fields["role"] = .string(holder.role.rawValue)
            fields["email"] = .optional(holder.email)
            fields["seat"] = .optional(holder.seat?.rawValue)
            json = .object(fields)
        }
        return .json(json, headers: [.cacheControl: "no-store"])
    }

    func signOutPage(_ request: Request) async throws -> Response {
        let cookies = cookieHeader(request)
        guard let holder = try await gatehouse.sessionHolder(cookieHeader: cookies), let token = sessionToken(cookies) else {
            return pages.message("Signed out", "You are not signed in.", link: ("/gate/sign-in", "Sign in"), status: .ok)
        }
        return pages.render(
            "gate-signout",
            [
                "identity": holder.session.identity.description, "signIn": holder.session.signIn,
                "csrf": SignInSecrets.formToken(session: token, purpose: "sign-out"),
            ])
    }

    func signOut(_ request: Request, _ context: GatehouseContext) async throws -> Response {
        let cookies = cookieHeader(request)
        // A cross-site form cannot sign anyone out: the browser says where the form came from,
        // and the form's token is tied to the session.
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" {
            return pages.message("Not signed out", "The sign-out form came from another site.", status: .forbidden)
        }
        let form = try await request.body.collect(upTo: 4096)
        let fields = URLEncodedForm(String(buffer: form))
        guard let token = sessionToken(cookies), let csrf = fields["csrf"],
            APIToken.constantTimeEquals(csrf, SignInSecrets.formToken(session: token, purpose: "sign-out"))
        else {
            return pages.message(
                "Not signed out", "The sign-out form has expired; open the sign-out page again.", link: ("/gate/sign-out", "Sign out"),
                status: .forbidden)
        }
        _ = try await gatehouse.signOut(cookieHeader: cookies)
        var headers: HTTPFields = [:]
        if let gate = gatehouse.gate { headers[.setCookie] = gate.cookies.clearCookie(gate.cookies.session) }
        return pages.message(
            "Signed out", "You have signed out of Codecov.", link: ("/gate/sign-in", "Sign in again"), status: .ok, headers: headers)
    }

    func cookieHeader(_ request: Request) -> String { request.headers[values: .cookie].joined(separator: "; ") }

    func sessionToken(_ cookies: String) -> String? {
        gatehouse.gate.flatMap { GateCookies.value(of: $0.cookies.session, in: cookies) }
    }
}

/// `application/x-www-form-urlencoded` fields (the last of a repeated name wins).
struct URLEncodedForm {
    var fields: [String: String] = [:]

    init(_ text: String) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
    }

    subscript(_ name: String) -> String? { fields[name] }
}

extension SocketAddress {
    /// The peer's address as the domain's `IPAddress`, straight from the socket address.
    public var ipAddressValue: IPAddress? {
        // sockaddr_in: family and port (4 bytes), then the address; sockaddr_in6: family, port
        // and flow info (8 bytes), then the 16-byte address. Network byte order.
        switch self {
        case .v4(let v4):
            return withUnsafeBytes(of: v4.address) { raw in .v4((4..<8).reduce(UInt32(0)) { $0 << 8 | UInt32(raw[$1]) }) }
        case .v6(let v6):
            return withUnsafeBytes(of: v6.address) { raw in
                .v6((8..<16).reduce(UInt64(0)) { $0 << 8 | UInt64(raw[$1]) }, (16..<24).reduce(UInt64(0)) { $0 << 8 | UInt64(raw[$1]) })
            }
        default: return nil
        }
    }
}
