import Foundation

/// Schema version against the binary's migrations.
public struct SchemaStatus: Sendable, Equatable {
    public var applied: [Int]
    public var known: [Int]
    public var pending: [Int] { known.filter { !applied.contains($0) } }

    public init(applied: [Int], known: [Int]) {
        self.applied = applied
        self.known = known
    }
}

/// A license as installed.
public struct StoredLicense: Sendable, Equatable {
    public var licenseID: String
    public var licensee: String
    public var kid: String
    public var seats: Int64
    public var seatPriceCents: Int64
    public var currency: String
    public var startsAt: Date
    public var expiresAt: Date
    /// The start of the term: `starts_at`, or for an amendment that of the license it amends.
    public var termStartsAt: Date
    public var supersedes: String?
    /// The license file exactly as installed, re-verified whenever it is read.
    public var fileText: String
    public var installedAt: Date
    public var installedBy: String

    public init(
        licenseID: String, licensee: String, kid: String, seats: Int64, seatPriceCents: Int64, currency: String,
        startsAt: Date, expiresAt: Date, termStartsAt: Date, supersedes: String?, fileText: String, installedAt: Date,
        installedBy: String
    ) {
        self.licenseID = licenseID
        self.licensee = licensee
        self.kid = kid
        self.seats = seats
        self.seatPriceCents = seatPriceCents
        self.currency = currency
        self.startsAt = startsAt
        self.expiresAt = expiresAt
        self.termStartsAt = termStartsAt
        self.supersedes = supersedes
        self.fileText = fileText
        self.installedAt = installedAt
        self.installedBy = installedBy
    }
}

/// The charge recorded when an amendment was installed.
public struct ProrationRecord: Sendable, Equatable {
    public var licenseID: String
    public var supersedes: String
    public var proration: Proration
    public var recordedAt: Date

    public init(licenseID: String, supersedes: String, proration: Proration, recordedAt: Date) {
        self.licenseID = licenseID
        self.supersedes = supersedes
        self.proration = proration
        self.recordedAt = recordedAt
    }
}

/// An API token as stored: never the secret, only its hash.
public struct TokenRecord: Sendable, Equatable {
    public var name: String
    public var scope: TokenScope
    public var hash: String
    public var lastFour: String
    public var createdAt: Date
    public var createdBy: String

    public init(name: String, scope: TokenScope, hash: String, lastFour: String, createdAt: Date, createdBy: String) {
        self.name = name
        self.scope = scope
        self.hash = hash
        self.lastFour = lastFour
        self.createdAt = createdAt
        self.createdBy = createdBy
    }
}

/// Which audit entries to read.
public struct AuditQuery: Sendable, Equatable {
    public var since: Date?
    public var until: Date?
    public var action: String?
    /// At most this many, the latest ones when set.
    public var limit: Int?

    public init(since: Date? = nil, until: Date? = nil, action: String? = nil, limit: Int? = nil) {
        self.since = since
        self.until = until
        self.action = action
        self.limit = limit
    }
}
