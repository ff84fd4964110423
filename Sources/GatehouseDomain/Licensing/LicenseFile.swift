import Foundation

/// The text form of a license (SPEC section 4): an armored, base64-encoded envelope that
/// carries the payload bytes and the vendor's Ed25519 signature over exactly those bytes.
public struct LicenseFile: Sendable, Equatable {
    public static let header = "-----BEGIN GATEHOUSE LICENSE-----"
    public static let footer = "-----END GATEHOUSE LICENSE-----"
    public static let algorithm = "ed25519"

    public var kid: String
    public var payload: [UInt8]
    public var signature: [UInt8]

    public init(kid: String, payload: [UInt8], signature: [UInt8]) {
        self.kid = kid
        self.payload = payload
        self.signature = signature
    }

    /// The envelope JSON, keys in the documented order.
    public var envelopeText: String {
        "{\"alg\":\"\(Self.algorithm)\",\"kid\":" + JSONValue.quoted(kid) + ",\"payload\":\""
            + Base64.urlEncode(payload) + "\",\"sig\":\"" + Base64.urlEncode(signature) + "\"}"
    }

    /// The armored file text, base64 in lines of 64 characters, ending with a newline.
    public var armored: String {
        let body = Base64Standard.encode(Array(envelopeText.utf8))
        var lines = [Self.header]
        var index = body.startIndex
        while index < body.endIndex {
            let end = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            lines.append(String(body[index..<end]))
            index = end
        }
        lines.append(Self.footer)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads a license file. Exactly one spelling of each license's content is accepted:
    /// header and footer lines as written, full 64-character lines, canonical base64, a strict
    /// envelope. What carrying text between systems does to a file is tolerated, and nothing
    /// else: `\r\n` line endings, one leading UTF-8 byte order mark, no final newline. Those
    /// carry nothing signed; `armored` gives back the one canonical spelling (what is stored).
    public static func parse(_ text: String) -> Result<LicenseFile, LicenseProblem> {
        func malformed(_ why: String) -> Result<LicenseFile, LicenseProblem> {
            .failure(LicenseProblem(.malformedFile, why))
        }
        // Notepad's byte order mark, whichever way the file was read (Foundation drops it on a
        // file read; an uploaded body keeps it).
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let bytes = text.utf8.starts(with: bom) ? text.utf8.dropFirst(3) : text.utf8.dropFirst(0)
        // Split on bytes: Swift treats "\r\n" as one Character.
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            Substring(line.last == UInt8(ascii: "\r") ? line.dropLast() : line)
        }
        if lines.last == "" { lines.removeLast() }
        guard lines.count >= 3 else { return malformed("not a Gatehouse license file (too short)") }
        guard lines.first == Substring(header) else { return malformed("first line must be \(header)") }
        guard lines.last == Substring(footer) else { return malformed("last line must be \(footer)") }
        let bodyLines = lines.dropFirst().dropLast()
        for (i, line) in bodyLines.enumerated() {
            let isLast = i == bodyLines.count - 1
            if isLast ? !(1...64).contains(line.count) : line.count != 64 {
                return malformed("line \(i + 2) has \(line.count) characters; base64 lines have 64")
            }
        }
        guard let envelopeBytes = Base64.decodeCanonical(bodyLines.joined()) else {
            return malformed("the body is not canonical base64")
        }
        return parseEnvelope(envelopeBytes)
    }

    static func parseEnvelope(_ bytes: [UInt8]) -> Result<LicenseFile, LicenseProblem> {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            return .failure(LicenseProblem(.malformedEnvelope, "the envelope is not valid JSON: \(error)"))
        }
        guard case .object(let fields) = value else {
            return .failure(LicenseProblem(.malformedEnvelope, "the envelope must be a JSON object"))
        }
        let unknown = Set(fields.keys).subtracting(["alg", "kid", "payload", "sig"])
        guard unknown.isEmpty else {
            return .failure(LicenseProblem(.malformedEnvelope, "unknown envelope field(s): \(unknown.sorted().joined(separator: ", "))"))
        }
        guard case .string(let alg)? = fields["alg"] else {
            return .failure(LicenseProblem(.malformedEnvelope, "alg must be a string"))
        }
        guard alg == algorithm else {
            return .failure(LicenseProblem(.unsupportedAlgorithm, "alg is \"\(alg)\"; only ed25519 is accepted"))
        }
        guard case .string(let kid)? = fields["kid"], !kid.isEmpty else {
            return .failure(LicenseProblem(.malformedEnvelope, "kid must be a non-empty string"))
        }
        guard case .string(let payloadText)? = fields["payload"], let payload = Base64.urlDecodeCanonical(payloadText), !payload.isEmpty else {
            return .failure(LicenseProblem(.malformedEnvelope, "payload must be unpadded base64url"))
        }
        guard case .string(let sigText)? = fields["sig"], let sig = Base64.urlDecodeCanonical(sigText), sig.count == 64 else {
            return .failure(LicenseProblem(.malformedEnvelope, "sig must be a 64-byte Ed25519 signature in unpadded base64url"))
        }
        let file = LicenseFile(kid: kid, payload: payload, signature: sig)
        // One spelling only: the envelope must be exactly what this file would write.
        guard Array(file.envelopeText.utf8) == bytes else {
            return .failure(LicenseProblem(.malformedEnvelope, "the envelope is not in canonical form"))
        }
        return .success(file)
    }
}

/// Standard base64 encoding without Foundation line breaks.
enum Base64Standard {
    static func encode(_ bytes: [UInt8]) -> String {
        Base64.urlEncode(bytes).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            + String(repeating: "=", count: (3 - bytes.count % 3) % 3)
    }
}
