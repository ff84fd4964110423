/// What a token may do (SPEC section 2).
public enum TokenScope: String, Sendable, Codable, CaseIterable {
    /// The Codecov instance asking for decisions.
    case authorize
    /// Administration: read and change.
    case admin
    /// Read-only administration (GET endpoints).
    case read
    /// An identity provider provisioning users and groups (`/scim/v2`), and nothing else.
    case scim

    /// Whether a token of this scope may perform `access`.
    public func permits(_ access: Access) -> Bool {
        switch (self, access) {
        case (.scim, .provision): true
        case (.scim, _): false
        case (_, .any): true
        case (.authorize, .decide): true
        case (.admin, .read), (.admin, .change), (.read, .read): true
        default: false
        }
    }
}

/// The kinds of access an endpoint requires.
public enum Access: Sendable {
    /// Any valid token (e.g. `GET /v1/license`).
    case any
    /// Authorization decisions.
    case decide
    /// Administrative reads.
    case read
    /// Administrative changes.
    case change
    /// SCIM provisioning (only tokens of scope `scim`: an admin token is not an identity provider's).
    case provision
}

/// API token secrets: generated once, shown once, stored only as a SHA-256 hash.
public enum APIToken {
    public static let prefix = "gth_"
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    /// A new secret: the prefix and 40 base62 characters (≈238 bits).
    public static func generate(using generator: inout some RandomNumberGenerator) -> String {
        prefix + String((0..<40).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// The stored form of a secret.
    public static func hash(_ secret: String) -> String {
        sha256Hex(secret)
    }

    /// The last four characters, by which a token is recognised after creation.
    public static func lastFour(_ secret: String) -> String { String(secret.suffix(4)) }

    /// Compares two strings in time that depends only on their lengths.
    /// Read in place (it runs on every decision): no copies of the bytes.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                var difference: UInt8 = 0
                for i in 0..<x.count { difference |= x[i] ^ y[i] }
                return difference == 0
            }
        }
    }

    /// Token names: 1–64 characters from A-Z a-z 0-9 _ . -
    public static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }
}
