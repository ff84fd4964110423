import GatehouseStorage

/// Where the database is: `sqlite:PATH` (the default) or `postgres://…`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)

    public init(_ text: String) throws(GatehouseError) {
        if text.hasPrefix("sqlite:") {
            var path = String(text.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else { throw GatehouseError(.invalidDatabase, "sqlite: needs a path, e.g. sqlite:gatehouse.db") }
            self = .sqlite(path: path)
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else {
            throw GatehouseError(.invalidDatabase, "database must be sqlite:PATH or postgres://…, got \"\(text)\"")
        }
    }

    /// Opens the store. `create` allows a new SQLite file (for `migrate` and `serve`).
    public func open(create: Bool) throws(GatehouseError) -> any Store {
        switch self {
        case .sqlite(let path):
            do { return try SQLStore.sqlite(path: path, create: create) } catch { throw GatehouseError.from(error)! }
        case .postgres(let url):
            do { return try SQLStore.postgres(PostgresSettings(url: url)) } catch { throw GatehouseError.from(error)! }
        }
    }
}
