import Foundation
import GatehouseDomain
import GatehouseStorage

/// The vendor's true-up file (`report usage`): documented in docs/usage-export.md.
public struct UsageReport: Sendable {
    public static let format = "gatehouse-usage/1"

    public var license: StoredLicense
    public var instanceURL: String?
    public var generatedAt: Date
    public var daily: [DailyUsage]
    public var chainHead: (seq: Int64, hash: String)?

    public var peak: Int64 { daily.map(\.peak).max() ?? 0 }

    public var json: JSONValue {
        [
            "format": .string(Self.format),
            "license_id": .string(license.licenseID), "licensee": .string(license.licensee),
            "instance_url": .optional(instanceURL),
            "term": ["starts_at": .string(UTC.format(license.termStartsAt)), "expires_at": .string(UTC.format(license.expiresAt))],
            "licensed_seats": .int(license.seats), "peak": .int(peak),
            "daily": .array(daily.map { ["date": .string(UTC.formatDay($0.day)), "peak": .int($0.peak), "end": .int($0.end)] }),
            "generated_at": .string(UTC.format(generatedAt)),
            "audit_head": chainHead.map { ["seq": .int($0.seq), "hash": .string($0.hash)] } ?? .null,
        ]
    }
}

extension Gatehouse {
    /// Peak and daily seat usage of the term so far, for the vendor's true-up.
    public func usageReport(instanceURL: String?) async throws -> UsageReport {
        guard let license = try await store.licenseInForce() else {
            throw GatehouseError(.licenseMissing, "no license is in force: install one first")
        }
        let t = now()
        let (start, events) = try await store.seatEvents(since: license.termStartsAt)
        let end = min(t, license.expiresAt.addingTimeInterval(-1))
        let daily = SeatUsageSeries.daily(events: events, startActive: start, from: license.termStartsAt, to: end)
        return UsageReport(license: license, instanceURL: instanceURL, generatedAt: t, daily: daily, chainHead: try await store.auditChainHead())
    }
}

extension AuditEntry {
    /// CSV columns of `audit export --format csv`.
    public static let csvHeader = "seq,at,actor,action,subject,details,prev_hash,hash"

    /// One RFC 4180 CSV row.
    public var csvRow: String {
        [String(seq), at, actor, action, subject, details, prevHash, hash].map(Self.csvField).joined(separator: ",")
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
