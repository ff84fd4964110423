/// One SQL migration compiled into the binary from `migrations/<engine>/NNNN_name.sql`.
public struct EmbeddedMigration: Sendable {
    public let engine: String
    public let version: Int
    public let name: String
    public let sql: String

    /// The migrations for one engine, in version order.
    public static func all(for engine: String) -> [EmbeddedMigration] {
        embeddedMigrations.filter { $0.engine == engine }.sorted { $0.version < $1.version }
    }
}
