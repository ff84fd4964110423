import Foundation
import GatehouseDomain

/// The result of `license verify`: is this file usable here, and why not.
public struct LicenseCheck: Sendable {
    public var verification: LicenseVerification
    public var evaluation: LicenseEvaluation
    /// Whether the license's instance was compared with a configured instance URL.
    public var instanceChecked: Bool

    /// Genuine, within the rules, and not expired (a license in grace is still usable).
    public var usable: Bool { verification.isValid && evaluation.state != .expired }

    public var warnings: [String] {
        guard !instanceChecked, let terms = verification.terms else { return evaluation.warnings }
        return evaluation.warnings + ["instance_url is not configured, so the license's instance (\(terms.instanceHost ?? "?")) was not checked"]
    }

    /// Every reason the license is not usable.
    public var reasons: [String] { verification.problems.map(\.message) + (verification.isValid ? evaluation.warnings : []) }

    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "valid": .bool(usable), "state": .string(evaluation.state.rawValue),
            "problems": .array(verification.problems.map { ["code": .string($0.code), "message": .string($0.message)] }),
            "warnings": .array(warnings.map(JSONValue.string)),
            "days_left": evaluation.daysLeft.map(JSONValue.int) ?? .null,
        ]
        if let terms = verification.terms { fields["terms"] = terms.json }
        return .object(fields)
    }

    /// One line for a usable license.
    public var summary: String {
        guard let terms = verification.terms else { return "" }
        return "valid: \(terms.licenseID) for \(terms.licensee), \(terms.seats) seats, \(UTC.formatDay(terms.startsAt)) → \(UTC.formatDay(terms.expiresAt)) (state \(evaluation.state.rawValue))"
    }
}

extension LicenseVendor {
    /// Checks a license file against an explicit public key (trusted for the file's kid) or,
    /// without one, the configured vendor keys; the instance is checked when configured.
    /// `publicKey` is the key's file name (for messages) and PEM text.
    public static func check(
        _ text: String, publicKey: (name: String, pem: String)?, configuration: GatehouseConfiguration?, now: Date
    ) throws(GatehouseError) -> LicenseCheck {
        var trusted: TrustedKeys
        if let publicKey {
            let key: VendorPublicKey
            do { key = try VendorKey.publicKey(pem: publicKey.pem) } catch {
                throw GatehouseError(.invalidKey, "\(publicKey.name): \(error)")
            }
            trusted = TrustedKeys()
            trusted.trust(key, kid: (try? LicenseFile.parse(text).get())?.kid ?? "")
        } else {
            guard let configuration else { throw GatehouseError(.noKeys, "no public key given and no configuration") }
            trusted = try configuration.trustedKeys()
        }
        let host = configuration?.instanceHost
        let verification = LicenseVerifier.verify(text, trusted: trusted, instanceHost: host)
        return LicenseCheck(
            verification: verification, evaluation: LicenseEvaluator.evaluate(verification, now: now, latestSeen: nil), instanceChecked: host != nil)
    }
}
