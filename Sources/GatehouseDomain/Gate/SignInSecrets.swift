import Crypto

/// The random values of the gate's sign-in and sessions.
///
/// A pending sign-in is bound to the browser that started it by a random *binding* secret in
/// a short-lived cookie; only its hash is stored, beside the hash of `state`. The PKCE
/// verifier and the OIDC nonce are derived from the binding secret and `state` (HMAC-SHA256),
/// so nothing that could complete a sign-in is ever stored, and a callback from another
/// browser (login CSRF) or with another `state` finds nothing to complete.
public enum SignInSecrets {
    /// 256 random bits, base64url (43 characters).
    public static func random(using generator: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        return Base64.urlEncode(bytes)
    }

    /// The stored form of a secret (session token, state, binding).
    public static func hash(_ secret: String) -> String { sha256Hex(secret) }

    /// The PKCE code verifier for a sign-in (RFC 7636: 43 characters of base64url).
    public static func codeVerifier(binding: String, state: String) -> String { derive(binding, "pkce", state) }

    /// The OIDC nonce for a sign-in.
    public static func nonce(binding: String, state: String) -> String { derive(binding, "nonce", state) }

    /// `S256` code challenge: base64url(SHA-256(verifier)).
    public static func codeChallenge(_ verifier: String) -> String {
        Base64.urlEncode(SHA256.hash(data: Array(verifier.utf8)))
    }

    /// A form token tied to one session (sign-out, console forms): HMAC of the purpose keyed by
    /// the session's secret, so it is worthless without the cookie and differs per session.
    public static func formToken(session: String, purpose: String) -> String { derive(session, "form", purpose) }

    static func derive(_ key: String, _ label: String, _ value: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array((label + ":" + value).utf8), using: SymmetricKey(data: Array(key.utf8)))
        return Base64.urlEncode(mac)
    }

    /// A session's public handle (`s_` and 20 lowercase base32 characters): listed and revoked
    /// by it, never usable as a credential.
    public static func sessionID(using generator: inout some RandomNumberGenerator) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        return "s_" + String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    public static func isSessionID(_ text: String) -> Bool {
        text.hasPrefix("s_") && text.count == 22 && text.dropFirst(2).allSatisfy { ("a"..."z").contains($0) || ("2"..."7").contains($0) }
    }
}

/// The gate's cookie names: over https the `__Host-` prefix binds a cookie to the exact host
/// (Secure, `Path=/`, no `Domain`), so a neighbouring subdomain cannot plant or read one.
public struct GateCookies: Sendable {
    public let session: String
    public let signIn: String
    public let secure: Bool

    public init(secure: Bool) {
        self.secure = secure
        session = (secure ? "__Host-" : "") + "gatehouse_session"
        signIn = (secure ? "__Host-" : "") + "gatehouse_signin"
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure over https.
    public func setCookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    /// A `Set-Cookie` value that removes a cookie.
    public func clearCookie(_ name: String) -> String { setCookie(name, "", maxAge: 0) }

    /// The value of cookie `name` in a `Cookie` header, if present exactly once. Two cookies
    /// of one name (one planted by a neighbour) are refused rather than guessed between.
    /// Scans the bytes once, allocating only the answer (asked on every gated request).
    public static func value(of name: String, in header: String) -> String? {
        var header = header, name = name
        return header.withUTF8 { h in
            name.withUTF8 { n -> String? in
                var found: Range<Int>?
                var i = 0
                while i < h.count {
                    while i < h.count, h[i] == UInt8(ascii: " ") { i += 1 }
                    let start = i
                    while i < h.count, h[i] != UInt8(ascii: ";") { i += 1 }
                    // start..<i is one `name=value` pair.
                    if i - start > n.count, h[start + n.count] == UInt8(ascii: "=") {
                        var same = true
                        for k in 0..<n.count where h[start + k] != n[k] {
                            same = false
                            break
                        }
                        if same {
                            if found != nil { return nil }
                            found = (start + n.count + 1)..<i
                        }
                    }
                    i += 1
                }
                guard let found else { return nil }
                return String(decoding: UnsafeBufferPointer(rebasing: h[found]), as: UTF8.self)
            }
        }
    }

    /// The names of the cookies in a `Cookie` header.
    public static func names(in header: String) -> [Substring] {
        header.split(separator: ";").compactMap { part in
            let pair = part.drop(while: { $0 == " " })
            return pair.firstIndex(of: "=").map { pair[..<$0] }
        }
    }
}
