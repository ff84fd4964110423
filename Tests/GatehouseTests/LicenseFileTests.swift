import Crypto
import Foundation
import GatehouseDomain
import Testing

@Suite("License files: genuine or refused")
struct LicenseFileTests {
    let vendor = TestVendor()
    let host = "codecov.acme.internal"

    func verify(_ text: String, trusted: TrustedKeys? = nil) -> LicenseVerification {
        LicenseVerifier.verify(text, trusted: trusted ?? vendor.trusted, instanceHost: host)
    }

    func codes(_ text: String) -> Set<String> { Set(verify(text).problems.map(\.code)) }

    @Test func validLicenseVerifiesAndRoundTrips() throws {
        let file = try #require(try? LicenseVerifier.sign(TestVendor.terms(), key: vendor.key, kid: vendor.kid).get())
        let text = file.armored
        let verification = verify(text)
        #expect(verification.isValid)
        #expect(verification.terms == TestVendor.terms())
        #expect(text.split(separator: "\n").dropFirst().dropLast().dropLast().allSatisfy { $0.count == 64 })
        // CRLF line endings and a missing final newline are the same file.
        #expect(verify(text.replacingOccurrences(of: "\n", with: "\r\n")).isValid)
        #expect(verify(String(text.dropLast())).isValid)
    }

    @Test func transportArtefactsAreToleratedAndNothingElse() throws {
        let text = vendor.signUnchecked(TestVendor.terms())
        let canonical = try #require(try? LicenseFile.parse(text).get())
        #expect(canonical.armored == text)
        let bom = "\u{FEFF}"
        // What editors and uploads do to text: CRLF, a byte order mark, no final newline.
        for variant in [text.replacingOccurrences(of: "\n", with: "\r\n"), bom + text, String((bom + text.replacingOccurrences(of: "\n", with: "\r\n")).dropLast())] {  // "\r\n" is one Character
            #expect(verify(variant).isValid)
            #expect(try LicenseFile.parse(variant).get() == canonical)
        }
        // Anything more is refused: two marks, a mark inside, a bare CR, a blank line, trailing spaces.
        for variant in [
            bom + bom + text, text.replacingOccurrences(of: "\n", with: "\n" + bom, options: [], range: text.range(of: "\n")),
            text.replacingOccurrences(of: "\n", with: "\r"), text + "\n", text.replacingOccurrences(of: LicenseFile.header, with: LicenseFile.header + " "),
        ] {
            #expect(!verify(variant).isValid, "accepted: \(variant.debugDescription.prefix(60))")
        }
    }

    @Test func everySingleByteChangeIsRefused() throws {
        let text = Array(vendor.signUnchecked(TestVendor.terms()).utf8)
        var accepted: [String] = []
        var checked = 0
        for index in text.indices {
            // Three different replacements per position: a flipped low bit, a flipped case bit,
            // and a different base64 character.
            var replacements: Set<UInt8> = [text[index] ^ 0x01, text[index] ^ 0x20]
            replacements.insert(text[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A"))
            for replacement in replacements where replacement != text[index] {
                var mutated = text
                mutated[index] = replacement
                checked += 1
                if verify(String(decoding: mutated, as: UTF8.self)).isValid {
                    accepted.append("byte \(index): \(text[index]) → \(replacement)")
                }
            }
        }
        #expect(checked > 2000)
        #expect(accepted.isEmpty, "accepted mutations: \(accepted.prefix(10))")
    }

    @Test func deletedOrInsertedBytesAreRefused() {
        let text = Array(vendor.signUnchecked(TestVendor.terms()).utf8)
        // The last byte is the optional final newline; removing it is the same file.
        for index in text.indices.dropLast() {
            var deleted = text
            deleted.remove(at: index)
            #expect(!verify(String(decoding: deleted, as: UTF8.self)).isValid, "deleting byte \(index) was accepted")
            var inserted = text
            inserted.insert(UInt8(ascii: "A"), at: index + 1)
            if index + 1 < text.count - 1 {
                #expect(!verify(String(decoding: inserted, as: UTF8.self)).isValid, "inserting at \(index + 1) was accepted")
            }
        }
    }

    @Test func truncatedFilesAreRefused() {
        let text = vendor.signUnchecked(TestVendor.terms())
        for length in stride(from: 0, to: text.utf8.count - 1, by: 1) {
            let truncated = String(decoding: Array(text.utf8).prefix(length), as: UTF8.self)
            let verification = verify(truncated)
            #expect(!verification.isValid)
            #expect(verification.problems.first?.code == "malformed_file")
        }
    }

    @Test func otherKeyAndUnknownKidAreRefused() {
        let other = TestVendor()
        // Signed by another key under our kid.
        #expect(codes(other.signUnchecked(TestVendor.terms())) == ["bad_signature"])
        // A kid nobody configured.
        #expect(codes(vendor.signRaw(Array(TestVendor.terms().json.canonicalText.utf8), kid: "stranger")) == ["unknown_kid"])
        // No keys configured at all says so.
        let none = verify(vendor.signUnchecked(TestVendor.terms()), trusted: TrustedKeys())
        #expect(none.problems.map(\.code) == ["unknown_kid"])
        #expect(none.problems[0].message.contains("no vendor keys are configured"))
    }

    @Test(arguments: ["RS256", "ED25519", "none", "HS256", ""])
    func otherAlgorithmsAreRefused(alg: String) {
        let payload = Array(TestVendor.terms().json.canonicalText.utf8)
        let sig = try! vendor.key.signature(for: payload)
        let envelope = "{\"alg\":\"\(alg)\",\"kid\":\"\(vendor.kid)\",\"payload\":\"\(Base64.urlEncode(payload))\",\"sig\":\"\(Base64.urlEncode(sig))\"}"
        let text = LicenseFile.header + "\n" + Data(envelope.utf8).base64EncodedString(options: .lineLength64Characters)
            .replacingOccurrences(of: "\r\n", with: "\n") + "\n" + LicenseFile.footer + "\n"
        #expect(codes(text) == ["unsupported_algorithm"])
    }

    @Test(arguments: [
        ("seats", JSONValue.string("200")), ("seats", .number("200.5")), ("seats", .bool(true)), ("seat_price_cents", .null),
        ("expires_at", .int(1_800_000_000)), ("starts_at", .string("2026-11-01")), ("licensee", .int(7)),
        ("instance_url", .string("not a url")), ("grace_days", .string("14")), ("supersedes", .int(1)), ("license_id", .array([])),
        ("currency", .object([:])),
    ])
    func wronglyTypedFieldsAreRefused(field: String, value: JSONValue) {
        guard case .object(var fields) = TestVendor.terms().json else { return }
        fields[field] = value
        let verification = verify(vendor.signRaw(Array(JSONValue.object(fields).canonicalText.utf8)))
        #expect(!verification.isValid)
        #expect(verification.problems.contains { $0.code == "invalid_field" && $0.message.hasPrefix(field) }, "\(verification.problems)")
    }

    @Test func missingUnknownAndDuplicateFieldsAreRefused() {
        guard case .object(var fields) = TestVendor.terms().json else { return }
        fields["seats"] = nil
        fields["discount"] = .int(10)
        let problems = verify(vendor.signRaw(Array(JSONValue.object(fields).canonicalText.utf8))).problems
        #expect(problems.contains { $0.message == "seats: missing" })
        #expect(problems.contains { $0.message == "unknown field \"discount\"" })
        // Two "seats" keys: a reader and a verifier could disagree, so the payload is refused.
        let duplicate = TestVendor.terms().json.canonicalText.replacingOccurrences(of: "\"seats\":200", with: "\"seats\":200,\"seats\":9000")
        #expect(codes(vendor.signRaw(Array(duplicate.utf8))) == ["malformed_payload"])
    }

    @Test func businessRuleViolationsAreAllReported() {
        // 364-day term, 1 seat at 100 USD: too short and too cheap at once.
        let terms = TestVendor.terms(seats: 1, price: 10_000, expires: "2027-10-31T00:00:00Z")
        #expect(codes(vendor.signUnchecked(terms)) == ["term_too_short", "below_minimum_value"])
        #expect(codes(vendor.signUnchecked(TestVendor.terms(seats: 0))) == ["no_seats"])
        var euros = TestVendor.terms()
        euros.currency = "EUR"
        #expect(codes(vendor.signUnchecked(euros)) == ["unsupported_currency"])
        // Exactly at the limits is fine: 365 days, 200 × 250 USD = 50,000 USD.
        #expect(verify(vendor.signUnchecked(TestVendor.terms(expires: "2027-11-01T00:00:00Z"))).isValid)
        #expect(codes(vendor.signUnchecked(TestVendor.terms(price: 24_999))) == ["below_minimum_value"])
        // The vendor's signing refuses exactly what verification refuses.
        switch LicenseVerifier.sign(terms, key: vendor.key, kid: vendor.kid) {
        case .success: Issue.record("signing accepted terms that break the rules")
        case .failure(let failure): #expect(Set(failure.problems.map(\.code)) == ["term_too_short", "below_minimum_value"])
        }
    }

    @Test func instanceMustMatch() {
        let text = vendor.signUnchecked(TestVendor.terms())
        let elsewhere = LicenseVerifier.verify(text, trusted: vendor.trusted, instanceHost: "codecov.other.example")
        #expect(elsewhere.problems.map(\.code) == ["instance_mismatch"])
        // Host comparison ignores case and a trailing dot.
        #expect(LicenseVerifier.verify(text, trusted: vendor.trusted, instanceHost: LicenseTerms.host(of: "https://CODECOV.acme.internal.:8443/x")).isValid)
    }
}
