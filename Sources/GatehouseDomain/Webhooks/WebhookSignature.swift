import Crypto

/// Why a webhook delivery was not accepted as coming from its provider.
public enum WebhookRefusal: String, Sendable, Error, Equatable {
    case missingSignature = "missing_signature"
    case unsupportedAlgorithm = "unsupported_signature_algorithm"
    case badSignature = "bad_signature"

    public var message: String {
        switch self {
        case .missingSignature: "the delivery carries no signature header"
        case .unsupportedAlgorithm: "the signature must be sha256=<hex> (X-Hub-Signature-256)"
        case .badSignature: "the signature does not match the body for the configured secret"
        }
    }
}

/// Checks webhook authenticity in constant time.
public enum WebhookSignature {
    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
    public static func verifyGitHub(body: some Collection<UInt8>, header: String?, secret: String) -> WebhookRefusal? {
        guard let header, !header.isEmpty else { return .missingSignature }
        guard header.hasPrefix("sha256=") else { return .unsupportedAlgorithm }
        guard let mac = hexBytes(header.dropFirst(7)), mac.count == 32 else { return .badSignature }
        let key = SymmetricKey(data: Array(secret.utf8))
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array(body), using: key) ? nil : .badSignature
    }

    /// GitLab: `X-Gitlab-Token` equal to the configured token.
    public static func verifyGitLab(header: String?, token: String) -> WebhookRefusal? {
        guard let header, !header.isEmpty else { return .missingSignature }
        // Compare digests, so timing depends on neither value's content nor length.
        return APIToken.constantTimeEquals(sha256Hex(header), sha256Hex(token)) ? nil : .badSignature
    }

    static func hexBytes(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        func value(_ d: UInt8) -> UInt8? {
            switch d {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var i = 0
        while i < digits.count {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
            i += 2
        }
        return bytes
    }
}
