import Crypto
import Foundation

/// Ed25519 keys in the PEM forms `openssl genpkey -algorithm ed25519` writes and reads:
/// PKCS#8 `PRIVATE KEY` and SubjectPublicKeyInfo `PUBLIC KEY` (RFC 8410).
public enum VendorKey {
    /// DER prefix of a PKCS#8 v1 Ed25519 private key; the 32-byte seed follows.
    static let pkcs8Prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
    /// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32-byte key follows.
    static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    public struct KeyError: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads a PKCS#8 PEM Ed25519 private key.
    public static func privateKey(pem: String) throws(KeyError) -> Curve25519.Signing.PrivateKey {
        let der = try decodePEM(pem, label: "PRIVATE KEY")
        // PKCS#8 v1 (openssl) is 48 bytes; v2 (RFC 8410 OneAsymmetricKey) appends the public key.
        guard der.count >= 48, Array(der.prefix(pkcs8Prefix.count)) == pkcs8Prefix || isV2(der) else {
            throw KeyError("not an Ed25519 PKCS#8 private key (create one with: openssl genpkey -algorithm ed25519)")
        }
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: der[16..<48])
        } catch {
            throw KeyError("the Ed25519 private key is malformed")
        }
    }

    private static func isV2(_ der: [UInt8]) -> Bool {
        var v2 = pkcs8Prefix
        v2[1] = 0x51
        v2[4] = 0x01
        return der.count == 83 && Array(der.prefix(16)) == v2 && Array(der[48..<51]) == [0x81, 0x21, 0x00]
    }

    /// Reads an SPKI PEM Ed25519 public key.
    public static func publicKey(pem: String) throws(KeyError) -> Curve25519.Signing.PublicKey {
        let der = try decodePEM(pem, label: "PUBLIC KEY")
        guard der.count == 44, Array(der.prefix(spkiPrefix.count)) == spkiPrefix else {
            throw KeyError("not an Ed25519 public key (derive one with: openssl pkey -in vendor.pem -pubout)")
        }
        do {
            return try Curve25519.Signing.PublicKey(rawRepresentation: der[12...])
        } catch {
            throw KeyError("the Ed25519 public key is malformed")
        }
    }

    /// PKCS#8 PEM of a private key.
    public static func pem(_ key: Curve25519.Signing.PrivateKey) -> String {
        encodePEM(pkcs8Prefix + Array(key.rawRepresentation), label: "PRIVATE KEY")
    }

    /// SPKI PEM of a public key.
    public static func pem(_ key: Curve25519.Signing.PublicKey) -> String {
        encodePEM(spkiPrefix + Array(key.rawRepresentation), label: "PUBLIC KEY")
    }

    static func encodePEM(_ der: [UInt8], label: String) -> String {
        let body = Base64Standard.encode(der)
        var lines = ["-----BEGIN \(label)-----"]
        var index = body.startIndex
        while index < body.endIndex {
            let end = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            lines.append(String(body[index..<end]))
            index = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }

    static func decodePEM(_ pem: String, label: String) throws(KeyError) -> [UInt8] {
        let lines = pem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let begin = lines.firstIndex(of: "-----BEGIN \(label)-----"),
            let end = lines.lastIndex(of: "-----END \(label)-----"), begin < end
        else {
            throw KeyError("expected a PEM block \"-----BEGIN \(label)-----\"")
        }
        guard let der = Base64.decodeCanonical(lines[(begin + 1)..<end].joined()) else {
            throw KeyError("the PEM body is not valid base64")
        }
        return der
    }
}

/// A vendor's public key, as trusted by installations.
public typealias VendorPublicKey = Curve25519.Signing.PublicKey
