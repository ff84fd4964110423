import Foundation

/// The signed payload of a license file (SPEC section 4): what the vendor sold.
public struct LicenseTerms: Sendable, Equatable {
    public var licenseID: String
    public var licensee: String
    public var issuedAt: Date
    public var startsAt: Date
    public var expiresAt: Date
    public var seats: Int64
    public var seatPriceCents: Int64
    public var currency: String
    public var instanceURL: String
    public var graceDays: Int64
    /// The `license_id` this license amends, or `nil` for a new term.
    public var supersedes: String?

    public init(
        licenseID: String, licensee: String, issuedAt: Date, startsAt: Date, expiresAt: Date, seats: Int64,
        seatPriceCents: Int64, currency: String, instanceURL: String, graceDays: Int64, supersedes: String?
    ) {
        self.licenseID = licenseID
        self.licensee = licensee
        self.issuedAt = issuedAt
        self.startsAt = startsAt
        self.expiresAt = expiresAt
        self.seats = seats
        self.seatPriceCents = seatPriceCents
        self.currency = currency
        self.instanceURL = instanceURL
        self.graceDays = graceDays
        self.supersedes = supersedes
    }

    /// The payload as a JSON value; its canonical text is what gets signed.
    public var json: JSONValue {
        [
            "license_id": .string(licenseID), "licensee": .string(licensee),
            "issued_at": .string(UTC.format(issuedAt)), "starts_at": .string(UTC.format(startsAt)),
            "expires_at": .string(UTC.format(expiresAt)), "seats": .int(seats),
            "seat_price_cents": .int(seatPriceCents), "currency": .string(currency),
            "instance_url": .string(instanceURL), "grace_days": .int(graceDays),
            "supersedes": .optional(supersedes),
        ]
    }

    /// The host part of `instance_url`, lowercased, without a trailing dot.
    public var instanceHost: String? { LicenseTerms.host(of: instanceURL) }

    /// The normalised host of an `http(s)://` URL, or `nil` if it has none.
    public static func host(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", var host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }
}

extension LicenseTerms {
    static let fieldNames: Set<String> = [
        "license_id", "licensee", "issued_at", "starts_at", "expires_at", "seats", "seat_price_cents",
        "currency", "instance_url", "grace_days", "supersedes",
    ]

    /// Reads terms from payload JSON bytes, reporting every missing, mistyped or unknown field.
    public static func parse(_ bytes: some Collection<UInt8>) -> (terms: LicenseTerms?, problems: [LicenseProblem]) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            return (nil, [LicenseProblem(.malformedPayload, "payload is not valid JSON: \(error)")])
        }
        return parse(value)
    }

    /// Reads terms from a JSON value (a signed payload or the vendor's `terms.json`).
    public static func parse(_ value: JSONValue) -> (terms: LicenseTerms?, problems: [LicenseProblem]) {
        guard case .object(let fields) = value else {
            return (nil, [LicenseProblem(.malformedPayload, "payload must be a JSON object, got \(value.typeName)")])
        }
        var problems: [LicenseProblem] = []
        for key in fields.keys.sorted() where !fieldNames.contains(key) {
            problems.append(LicenseProblem(.invalidField, "unknown field \"\(key)\""))
        }
        func bad(_ field: String, _ message: String) { problems.append(LicenseProblem(.invalidField, "\(field): \(message)")) }
        func string(_ field: String) -> String? {
            switch fields[field] {
            case nil: bad(field, "missing")
            case .string(let s) where s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty: bad(field, "empty")
            case .string(let s): return s
            case let other?: bad(field, "expected string, got \(other.typeName)")
            }
            return nil
        }
        func integer(_ field: String) -> Int64? {
            switch fields[field] {
            case nil: bad(field, "missing")
            case .int(let i): return i
            case let other?: bad(field, "expected integer, got \(other.typeName == "number" ? "a non-integer number" : other.typeName)")
            }
            return nil
        }
        func time(_ field: String) -> Date? {
            guard let text = string(field) else { return nil }
            guard let date = UTC.parseTimestamp(text) else {
                bad(field, "expected a UTC timestamp like 2026-11-01T00:00:00Z, got \"\(text)\"")
                return nil
            }
            return date
        }
        let licenseID = string("license_id")
        if let id = licenseID, !id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) || id.count > 128 {
            bad("license_id", "use 1-128 characters from A-Z a-z 0-9 _ . -")
        }
        let licensee = string("licensee")
        let issuedAt = time("issued_at"), startsAt = time("starts_at"), expiresAt = time("expires_at")
        let seats = integer("seats"), price = integer("seat_price_cents"), grace = integer("grace_days")
        let currency = string("currency")
        let instanceURL = string("instance_url")
        if let url = instanceURL, host(of: url) == nil { bad("instance_url", "expected an http(s) URL with a host, got \"\(url)\"") }
        var supersedes: String?
        switch fields["supersedes"] {
        case nil, .null?: supersedes = nil
        case .string(let s)? where !s.isEmpty: supersedes = s
        case let other?: bad("supersedes", "expected a license_id string or null, got \(other.typeName)")
        }
        if let price, price < 0 { bad("seat_price_cents", "must not be negative") }
        if let grace, !(0...365).contains(grace) { bad("grace_days", "must be between 0 and 365") }
        guard problems.isEmpty, let licenseID, let licensee, let issuedAt, let startsAt, let expiresAt, let seats,
            let price, let grace, let currency, let instanceURL
        else { return (nil, problems) }
        let terms = LicenseTerms(
            licenseID: licenseID, licensee: licensee, issuedAt: issuedAt, startsAt: startsAt, expiresAt: expiresAt,
            seats: seats, seatPriceCents: price, currency: currency, instanceURL: instanceURL, graceDays: grace,
            supersedes: supersedes)
        return (terms, [])
    }
}
