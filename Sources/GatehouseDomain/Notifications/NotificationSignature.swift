import Crypto
import Foundation

/// The signature on a generic webhook notification (SPEC section 12):
///
///     X-Gatehouse-Timestamp: <unix seconds>
///     X-Gatehouse-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>.<raw body>">
///
/// The timestamp is inside what is signed, so a receiver that refuses old timestamps (five
/// minutes is the usual tolerance) refuses a replayed delivery; `docs/verify-notification.py`
/// checks both without any Gatehouse code.
public enum NotificationSignature {
    public static let timestampHeader = "X-Gatehouse-Timestamp"
    public static let signatureHeader = "X-Gatehouse-Signature"
    public static let defaultTolerance: TimeInterval = 300

    public static func sign(body: some Collection<UInt8>, timestamp: Int64, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: signedBytes(body, timestamp), using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// `nil` when the signature matches and the timestamp is within `tolerance` of `now`.
    public static func verify(
        body: some Collection<UInt8>, timestamp: String?, signature: String?, secret: String, now: Date,
        tolerance: TimeInterval = defaultTolerance
    ) -> WebhookRefusal? {
        guard let timestamp, let seconds = Int64(timestamp), let signature, !signature.isEmpty else { return .missingSignature }
        guard signature.hasPrefix("sha256=") else { return .unsupportedAlgorithm }
        guard abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance else { return .badSignature }
        guard let mac = WebhookSignature.hexBytes(signature.dropFirst(7)), mac.count == 32 else { return .badSignature }
        let key = SymmetricKey(data: Array(secret.utf8))
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signedBytes(body, seconds), using: key) ? nil : .badSignature
    }

    static func signedBytes(_ body: some Collection<UInt8>, _ timestamp: Int64) -> [UInt8] {
        Array("\(timestamp).".utf8) + Array(body)
    }
}
