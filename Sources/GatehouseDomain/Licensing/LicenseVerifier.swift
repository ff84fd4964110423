import Crypto

/// The vendor public keys this installation trusts, by key id.
public struct TrustedKeys: Sendable {
    /// Raw 32-byte Ed25519 public keys by kid (raw bytes, because the key type is not Sendable).
    var raw: [String: [UInt8]]

    public init(_ keys: [String: VendorPublicKey] = [:]) { raw = keys.mapValues { Array($0.rawRepresentation) } }

    public var kids: [String] { raw.keys.sorted() }

    /// Trusts `key` for `kid`.
    public mutating func trust(_ key: VendorPublicKey, kid: String) { raw[kid] = Array(key.rawRepresentation) }

    /// The key trusted for `kid`.
    public func key(for kid: String) -> VendorPublicKey? {
        raw[kid].flatMap { try? VendorPublicKey(rawRepresentation: $0) }
    }
}

/// The outcome of checking a license file: its terms when they could be read (even if the
/// license is not acceptable) and every problem found.
public struct LicenseVerification: Sendable {
    public var file: LicenseFile?
    public var terms: LicenseTerms?
    public var problems: [LicenseProblem]

    /// Genuine and within the rules (the time window is judged separately by `LicenseEvaluator`).
    public var isValid: Bool { terms != nil && problems.isEmpty }
}

/// Checks that a license file is genuine and within its terms.
public enum LicenseVerifier {
    /// Verifies `text` against the trusted keys, the commercial rules and, when known, the
    /// host of this installation's instance URL. All problems are collected.
    public static func verify(_ text: String, trusted: TrustedKeys, instanceHost: String?) -> LicenseVerification {
        let file: LicenseFile
        switch LicenseFile.parse(text) {
        case .failure(let problem): return LicenseVerification(file: nil, terms: nil, problems: [problem])
        case .success(let parsed): file = parsed
        }
        var problems: [LicenseProblem] = []
        if let key = trusted.key(for: file.kid) {
            if !key.isValidSignature(file.signature, for: file.payload) {
                problems.append(LicenseProblem(.badSignature, "the signature does not match the payload for key \"\(file.kid)\""))
            }
        } else {
            let known = trusted.kids.isEmpty ? "no vendor keys are configured" : "trusted keys: \(trusted.kids.joined(separator: ", "))"
            problems.append(LicenseProblem(.unknownKid, "key id \"\(file.kid)\" is not trusted (\(known))"))
        }
        let (terms, payloadProblems) = LicenseTerms.parse(file.payload)
        problems += payloadProblems
        if let terms {
            problems += LicenseRules.check(terms)
            if let expected = instanceHost, let host = terms.instanceHost, host != expected {
                problems.append(LicenseProblem(.instanceMismatch, "the license is for \(host); this instance is \(expected)"))
            }
        }
        return LicenseVerification(file: file, terms: terms, problems: problems)
    }

    /// Signs terms with a vendor key, refusing terms that break the rules.
    public static func sign(_ terms: LicenseTerms, key: Curve25519.Signing.PrivateKey, kid: String) -> Result<LicenseFile, LicenseProblems> {
        var problems = LicenseRules.check(terms)
        if kid.isEmpty || !kid.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) {
            problems.append(LicenseProblem(.invalidKid, "kid must be 1 or more characters from A-Z a-z 0-9 _ . -"))
        }
        guard problems.isEmpty else { return .failure(LicenseProblems(problems)) }
        let payload = Array(terms.json.canonicalText.utf8)
        guard let signature = try? key.signature(for: payload) else {
            return .failure(LicenseProblems([LicenseProblem(.signingFailed, "the signature could not be made")]))
        }
        return .success(LicenseFile(kid: kid, payload: payload, signature: Array(signature)))
    }
}
