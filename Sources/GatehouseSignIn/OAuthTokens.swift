import Foundation
import GatehouseDomain

/// The token endpoint of the authorization-code flow (RFC 6749 4.1.3, RFC 7636 4.5).
struct TokenAnswer {
    var accessToken: String
    var idToken: String?
}

extension ProviderHTTP {
    /// Exchanges `code` for tokens. The client authenticates with HTTP Basic or in the body.
    func exchange(
        tokenURL: String, code: String, redirectURI: String, codeVerifier: String, clientID: String, clientSecret: String,
        basicAuth: Bool
    ) async throws(SignInError) -> TokenAnswer {
        var fields = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", codeVerifier),
            ("client_id", clientID),
        ]
        if !basicAuth { fields.append(("client_secret", clientSecret)) }
        let answer = try await postForm(tokenURL, fields, basicAuth: basicAuth ? (clientID, clientSecret) : nil)
        let json = answer.json
        // GitHub answers 200 with {"error": …} for a bad code.
        if let error = json?["error"]?.stringValue {
            let detail = json?["error_description"]?.stringValue.map { ": \($0.prefix(200))" } ?? ""
            let code: SignInError.Code =
                ["invalid_grant", "bad_verification_code", "incorrect_client_credentials", "invalid_client"].contains(error)
                ? .codeRefused : .providerUnavailable
            throw SignInError(code, "\(providerName) refused the sign-in code (\(error)\(detail))")
        }
        guard answer.status == 200, let token = json?["access_token"]?.stringValue, !token.isEmpty else {
            throw SignInError(
                .providerUnavailable, "\(providerName): the token endpoint answered HTTP \(answer.status) without an access token")
        }
        return TokenAnswer(accessToken: token, idToken: json?["id_token"]?.stringValue)
    }
}
