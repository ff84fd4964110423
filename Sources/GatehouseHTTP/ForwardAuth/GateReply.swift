import GatehouseDomain
import GatehouseService
import HTTPTypes

/// The HTTP answer to a forward-auth question, the same from the API port's `/gate/auth` and
/// from the forward-auth listener: status, headers, body.
struct GateReply {
    var status: Int
    var headers: [(String, String)]
    var body: String

    /// - Parameters:
    ///   - redirect: `?redirect=1` — the proxy hands the answer to the browser (Traefik, Caddy):
    ///     a browser with no session gets a 302 to sign in.
    ///   - wantsHTML: the original client reads HTML.
    ///   - help: whom a refused person should ask.
    init(_ answer: GateAuthAnswer, redirect: Bool, wantsHTML: Bool, help: @autoclosure () -> String, metrics: GatehouseMetrics?) {
        metrics?.countDecision(kind: "gate", reason: answer.status == 200 ? "ok" : answer.reason ?? "sign_in")
        headers = [("Cache-Control", "no-store")]
        body = ""
        switch answer.status {
        case 200:
            status = 200
            headers += [
                ("X-Gatehouse-User", Self.safe(answer.user)), ("X-Gatehouse-Person", Self.safe(answer.personID)),
                ("X-Gatehouse-Email", Self.safe(answer.email)), ("X-Gatehouse-Role", Self.safe(answer.role)),
            ]
        case 401:
            let target = answer.signInURL ?? "/gate/sign-in"
            headers.append(("X-Gatehouse-Sign-In", target))
            if redirect, wantsHTML {
                status = 302
                headers.append(("Location", target))
            } else if wantsHTML {
                status = 401
                headers += Self.pageHeaders
                body = Pages.shared.html(
                    "gate-message",
                    [
                        "heading": "Sign in to Codecov", "message": "You need to sign in to see this page.",
                        "link": ["href": target, "text": "Sign in"],
                    ])
            } else {
                status = 401
                headers.append(("Content-Type", "application/json"))
                body =
                    JSONValue.object(["error": ["code": "sign_in_required", "message": .string("sign in at \(target)")]]).canonicalText
                    + "\n"
            }
        default:
            status = 403
            let reason = answer.reason ?? "forbidden"
            headers.append(("X-Gatehouse-Reason", reason))
            if wantsHTML, let decision = DecisionReason(rawValue: reason) {
                headers += Self.pageHeaders
                var values: [String: Any] = ["explanation": Gatehouse.explanation(decision), "reason": reason, "help": help()]
                if let user = answer.user {
                    values["identity"] = user
                    values["signOut"] = true
                }
                body = Pages.shared.html("gate-refused", values)
            } else {
                headers.append(("Content-Type", "application/json"))
                body =
                    JSONValue.object(["error": ["code": .string(reason), "message": .string(answer.message ?? reason)]]).canonicalText
                    + "\n"
            }
        }
    }

    /// A header value that cannot break the header block: control characters (CR, LF, NUL…)
    /// are dropped. The values come from providers (an e-mail claim) and must never let anyone
    /// add a header of their own to the request the proxy forwards.
    static func safe(_ value: String?) -> String {
        guard let value else { return "" }
        return value.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F })
            ? value : String(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
    }

    /// A page's headers, but for Cache-Control (every answer already says no-store).
    static let pageHeaders: [(String, String)] =
        [("Content-Type", "text/html; charset=utf-8")]
        + Pages.securityHeaders.filter { $0.name != .cacheControl }.map { ($0.name.rawName, $0.value) }
}
