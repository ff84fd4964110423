import Foundation
import GatehouseDomain
import GatehouseStorage

/// A token just created: the only time its secret is available.
public struct CreatedToken: Sendable {
    public var record: TokenRecord
    public var secret: String

    public var json: JSONValue {
        ["name": .string(record.name), "scope": .string(record.scope.rawValue), "token": .string(secret), "last_four": .string(record.lastFour)]
    }
}

extension TokenRecord {
    /// How a token is listed: never its secret or hash.
    public var json: JSONValue {
        [
            "name": .string(name), "scope": .string(scope.rawValue), "last_four": .string(lastFour),
            "created_at": .string(UTC.format(createdAt)), "created_by": .string(createdBy),
        ]
    }
}

extension Gatehouse {
    /// Creates a token; the secret is returned once and only its SHA-256 is stored.
    public func createToken(name: String, scope: TokenScope, actor: String) async throws -> CreatedToken {
        guard APIToken.isValidName(name) else {
            throw GatehouseError(.invalidTokenName, "token names are 1-64 characters from A-Z a-z 0-9 _ . -")
        }
        var rng = SystemRandomNumberGenerator()
        let secret = APIToken.generate(using: &rng)
        // As stored (to the millisecond), so that memory holds what a reload reads.
        let t = UTC.asStored(now())
        let record = TokenRecord(
            name: name, scope: scope, hash: APIToken.hash(secret), lastFour: APIToken.lastFour(secret), createdAt: t, createdBy: actor)
        do {
            try await store.createToken(
                record,
                audit: AuditDraft(actor: actor, action: "token.create", subject: name, details: ["scope": .string(scope.rawValue), "last_four": .string(record.lastFour)]),
                at: t)
        } catch let error as StoreError where error.code == .conflict {
            throw GatehouseError(.tokenExists, "a token named \(name) already exists (revoke it first)")
        }
        live.apply { if $0.loaded { $0.tokens[record.hash] = record } }
        return CreatedToken(record: record, secret: secret)
    }

    public func listTokens() async throws -> [TokenRecord] {
        try await store.tokens()
    }

    public func revokeToken(name: String, actor: String) async throws {
        do {
            try await store.revokeToken(name: name, audit: AuditDraft(actor: actor, action: "token.revoke", subject: name), at: now())
        } catch let error as StoreError where error.code == .notFound {
            throw GatehouseError(.tokenNotFound, "no token named \(name)")
        }
        // Revoked means refused at once in this process (others catch up within a second).
        live.apply { snapshot in snapshot.tokens = snapshot.tokens.filter { $0.value.name != name } }
    }

    /// The token a bearer secret belongs to, or `nil`. The store finds the row by hash; the
    /// hashes are then compared in constant time, so no timing depends on secret bytes.
    public func authenticate(bearer secret: String) async throws -> TokenRecord? {
        guard let hash = Self.tokenHash(secret) else { return nil }
        // A serving process answers from memory (refreshed within a second of any change);
        // a CLI process asks the database.
        let (loaded, cached) = live.peek { ($0.pointee.loaded, $0.pointee.tokens[hash]) }
        return Self.matching(loaded ? cached : try await store.token(hash: hash), hash)
    }

    /// As `authenticate(bearer:)`, from memory alone (for answers given without suspending):
    /// `nil` for a secret that is not a token's, and whenever memory is not loaded.
    public func tokenFromMemory(bearer secret: String) -> TokenRecord? {
        Self.tokenHash(secret).flatMap(tokenFromMemory(hash:))
    }

    /// As `tokenFromMemory(bearer:)`, by the secret's hash (`tokenHash`), for a caller that
    /// keeps the hash of a secret it sees again and again.
    public func tokenFromMemory(hash: String) -> TokenRecord? {
        Self.matching(live.peek { $0.pointee.loaded ? $0.pointee.tokens[hash] : nil }, hash)
    }

    /// The hash tokens are kept by, of a secret that could be one; `nil` otherwise.
    public static func tokenHash(_ secret: String) -> String? {
        guard secret.hasPrefix(APIToken.prefix), secret.count < 200 else { return nil }
        return APIToken.hash(secret)
    }

    private static func matching(_ found: TokenRecord?, _ hash: String) -> TokenRecord? {
        guard let found, APIToken.constantTimeEquals(found.hash, hash) else { return nil }
        return found
    }
}
