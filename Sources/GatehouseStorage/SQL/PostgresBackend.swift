import Foundation
import GatehouseDomain
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// Where a PostgreSQL database is, parsed from `postgres://user:password@host:port/db?sslmode=…`.
public struct PostgresSettings: Sendable, Equatable {
    public enum TLSMode: String, Sendable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// TLS required, the certificate not checked.
        case require
        /// TLS required, the certificate checked against `sslrootcert` (or the system's roots).
        case verifyCA = "verify-ca"
        /// As verify-ca, and the certificate must name the host.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var rootCertificate: String?

    /// Parses a URL; every problem is named.
    public init(url text: String) throws {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql" else {
            throw StoreError(
                .unavailable, "not a PostgreSQL URL (postgres://user:password@host:port/database): \(PostgresSettings.redact(text))")
        }
        guard let host = url.host, !host.isEmpty else { throw StoreError(.unavailable, "the PostgreSQL URL names no host") }
        self.host = host
        port = url.port ?? 5432
        user = url.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? NSUserName()
        password = url.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        let name = String(url.path.drop { $0 == "/" })
        database = name.isEmpty ? user : name
        tls = .prefer
        for item in url.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw StoreError(
                        .unavailable,
                        "sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")), got \(item.value ?? "nothing")"
                    )
                }
                tls = mode
            case "sslrootcert": rootCertificate = item.value
            default: throw StoreError(.unavailable, "unknown PostgreSQL URL parameter \(item.name) (known: sslmode, sslrootcert)")
            }
        }
    }

    /// The URL without its password, for messages and logs.
    public var displayName: String { "postgres://\(user)@\(host):\(port)/\(database)" + (tls == .prefer ? "" : "?sslmode=\(tls.rawValue)") }

    /// A URL text with any password replaced, for an error about the URL itself.
    static func redact(_ text: String) -> String {
        guard var url = URLComponents(string: text), url.password != nil else { return text }
        url.password = "***"
        return url.string ?? "postgres://…"
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS
        switch tls {
        case .disable: tlsSetting = .disable
        case .prefer, .require, .verifyCA, .verifyFull:
            var config = TLSConfiguration.makeClientConfiguration()
            switch tls {
            case .verifyFull: config.certificateVerification = .fullVerification
            case .verifyCA: config.certificateVerification = .noHostnameVerification
            default: config.certificateVerification = .none
            }
            if let root = rootCertificate { config.trustRoots = .file(root) }
            let context: NIOSSLContext
            do { context = try NIOSSLContext(configuration: config) } catch {
                throw StoreError(
                    .unavailable, "cannot set up TLS for PostgreSQL (sslrootcert \(rootCertificate ?? "system roots")): \(error)")
            }
            tlsSetting = tls == .prefer ? .prefer(context) : .require(context)
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(5)
        // The server's name is checked against the URL's host under verify-full: postgres-nio
        // sends a name as SNI (and NIOSSL checks it); an IP address cannot be SNI, and NIOSSL
        // then checks the certificate's IP addresses against the address connected to.
        // A statement or a lock wait that takes longer is refused rather than left hanging.
        configuration.options.additionalStartupParameters = [
            ("application_name", "gatehouse"), ("statement_timeout", "30000"), ("lock_timeout", "10000"),
        ]
        return configuration
    }
}

/// PostgreSQL, for several replicas on one database. The store's logic is synchronous (it is
/// shared with SQLite), so each transaction runs on a thread of its own pool and waits for the
/// connection's answers there; the event loops are never blocked.
///
/// Every write transaction first takes one transaction-level advisory lock: writers across all
/// replicas run one at a time, exactly as SQLite's single writer does, so the seat counter and
/// the audit chain are changed by one transaction at a time. Reads run concurrently on a
/// REPEATABLE READ snapshot.
final class PostgresBackend: SQLBackend {
    let dialect = SQLDialect.postgres
    let settings: PostgresSettings
    private let configuration: PostgresConnection.Configuration
    private let idle = Mutex<[PostgresConnection]>([])
    private let nextID = Atomic<Int>(1)
    private let logger: Logger

    /// The advisory lock every write transaction holds ("gatehouse" in ASCII).
    static let writeLock: Int64 = 0x6761_7465_686F_7573

    /// Threads that wait on PostgreSQL; at most this many transactions (and connections) at once.
    static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    init(_ settings: PostgresSettings) throws {
        self.settings = settings
        configuration = try settings.connectionConfiguration()
        var logger = Logger(label: "gatehouse.postgres")
        logger.logLevel = .error
        self.logger = logger
    }

    deinit {
        for connection in idle.withLock({ $0 }) { Self.close(connection) }
    }

    /// Closes a connection, keeping it alive until it is closed (postgres-nio insists).
    private static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    var displayName: String { settings.displayName }

    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await run { try self.transaction(write: false, body) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await run { try self.transaction(write: true, body) }
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        do { return try await Self.threads.runIfActive(work) } catch let error as StoreError { throw error } catch let error as ScimError {
            throw error
        } catch {
            throw StoreError(.unavailable, "PostgreSQL work could not be scheduled: \(error)")
        }
    }

    private func transaction<T>(write: Bool, _ body: (any SQLSession) throws -> T) throws -> T {
        let connection = try checkOut()
        var reusable = true
        defer { checkIn(connection, reusable: reusable) }
        let session = PostgresSession(connection: connection, logger: logger)
        do {
            // Sent with the transaction's first statement that waits for an answer.
            if write {
                try session.executeLater("BEGIN", [])
                try session.executeLater("SELECT pg_advisory_xact_lock(?)", [PostgresBackend.writeLock])
            } else {
                try session.executeLater("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", [])
            }
            let value = try body(session)
            try session.execute("COMMIT")
            return value
        } catch {
            session.abandonPending()
            if connection.isClosed {
                reusable = false
            } else {
                do { try session.execute("ROLLBACK") } catch { reusable = false }
            }
            // A rule's refusal (a SCIM precondition, say) is the caller's answer, not a database failure.
            if let refusal = error as? ScimError { throw refusal }
            throw Self.storeError(error, write: write, where: settings.displayName)
        }
    }

    private func checkOut() throws -> PostgresConnection {
        while let connection = idle.withLock({ $0.popLast() }) {
            if !connection.isClosed { return connection }
        }
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        do {
            return try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: id, logger: logger
            ).wait()
        } catch {
            throw StoreError(
                .unavailable, "cannot connect to PostgreSQL at \(settings.displayName): \(Self.describeConnectFailure(error, settings))")
        }
    }

    private func checkIn(_ connection: PostgresConnection, reusable: Bool) {
        if reusable, !connection.isClosed {
            idle.withLock { $0.append(connection) }
        } else {
            Self.close(connection)
        }
    }

    static func storeError(_ error: any Error, write: Bool, where name: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] {
            // Class 23: integrity constraint violations (unique, check, foreign key).
            if state.hasPrefix("23") { return StoreError(.conflict, "the change conflicts with stored data: \(describe(error))") }
        }
        return StoreError(.unavailable, "database \(write ? "write" : "read") failed (\(name)): \(describe(error))")
    }

    /// The server's message, or what went wrong with the connection; never the bound values.
    /// Why a connection could not be made, in the URL's terms where TLS is the reason.
    static func describeConnectFailure(_ error: any Error, _ settings: PostgresSettings) -> String {
        let roots = settings.rootCertificate.map { "the CA in \($0)" } ?? "the system's trusted CAs"
        if let error = error as? PSQLError {
            if error.code == .sslUnsupported { return "the server does not offer TLS, which sslmode=\(settings.tls.rawValue) requires" }
            if let failure = error.underlying as? NIOSSLExtraError, failure == .failedToValidateHostname {
                return "the server's TLS certificate does not name \(settings.host) (sslmode=verify-full)"
            }
            // BoringSSL names a chain it could not verify only in its error's text.
            if case .handshakeFailed(let failure)? = error.underlying as? NIOSSLError, "\(failure)".contains("CERTIFICATE_VERIFY_FAILED") {
                return "the server's TLS certificate is not signed by \(roots) (sslmode=\(settings.tls.rawValue))"
            }
        }
        return describe(error)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return message + (error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

/// A PostgreSQL connection inside a transaction, waited on from a pool thread.
///
/// Every wait for an answer costs two thread hand-offs (this thread to the event loop and
/// back) on top of the round trip, so statements whose result is not needed are sent without
/// waiting (`executeLater`); the connection runs its queue in order on the event loop, and the
/// next statement that needs an answer first collects theirs, failing with the first failure.
struct PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger
    let chainHead = ChainHeadCache()
    private let pending = Pending()
    var dialect: SQLDialect { .postgres }

    /// Statements sent and not yet waited for, in the order they were sent.
    private final class Pending: @unchecked Sendable {
        var futures: [EventLoopFuture<PostgresQueryResult>] = []
    }

    func execute(_ sql: String, _ arguments: [(any SQLBindable)?]) throws -> Int {
        try query(sql, arguments).metadata.rows ?? 0
    }

    func executeLater(_ sql: String, _ arguments: [(any SQLBindable)?]) throws {
        pending.futures.append(send(sql, arguments))
    }

    /// One statement over a JSON array of the rows (one round trip however many rows).
    func insert(_ rows: SQLRows) throws {
        guard !rows.isEmpty else { return }
        try executeLater(rows.jsonStatement(dialect), rows.constants.map(\.value) + [rows.jsonText])
    }

    /// Waits for the statements sent earlier; throws the first failure among them.
    private func settle() throws {
        let futures = pending.futures
        pending.futures = []
        var failure: (any Error)?
        for future in futures {
            do { _ = try future.wait() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// After a failure: the statements still outstanding are waited for and their outcome
    /// dropped (the transaction is rolled back next).
    func abandonPending() {
        try? settle()
    }

    func rows(_ sql: String, _ arguments: [(any SQLBindable)?]) throws -> [SQLRow] {
        try query(sql, arguments).rows.map { row in
            var names: [String] = []
            var values: [SQLValue] = []
            for cell in row {
                names.append(cell.columnName)
                values.append(Self.value(cell))
            }
            return SQLRow(names: names, values: values)
        }
    }

    func tables() throws -> Set<String> {
        Set(try values(as: String.self, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"))
    }

    /// The extended protocol takes one statement at a time: the script is split at top-level
    /// semicolons (not inside quotes, `$$` bodies or comments).
    func executeScript(_ sql: String) throws {
        for statement in Self.statements(sql) { try execute(statement) }
    }

    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var quote: String?
        var comment = false
        let chars = Array(sql)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if comment {
                if c == "\n" { comment = false }
            } else if let q = quote {
                if String(chars[i..<min(chars.count, i + q.count)]) == q {
                    current += q
                    i += q.count
                    quote = nil
                    continue
                }
                current.append(c)
            } else if c == "-", i + 1 < chars.count, chars[i + 1] == "-" {
                comment = true
            } else if c == "'" || c == "\"" {
                quote = String(c)
                current.append(c)
            } else if c == "$", let end = chars[(i + 1)...].firstIndex(of: "$"),
                chars[(i + 1)..<end].allSatisfy({ $0.isLetter || $0 == "_" })
            {
                let tag = String(chars[i...end])
                quote = tag
                current += tag
                i = end + 1
                continue
            } else if c == ";" {
                if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { statements.append(current) }
                current = ""
            } else {
                current.append(c)
            }
            i += 1
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { statements.append(current) }
        return statements
    }

    func idsWereSet(table: String) throws {
        try execute("SELECT setval(pg_get_serial_sequence('\(table)', 'id'), GREATEST((SELECT MAX(id) FROM \(table)), 1))")
    }

    private func query(_ sql: String, _ arguments: [(any SQLBindable)?]) throws -> PostgresQueryResult {
        let answer = send(sql, arguments)
        do { try settle() } catch {
            _ = try? answer.wait()
            throw error
        }
        return try answer.wait()
    }

    private func send(_ sql: String, _ arguments: [(any SQLBindable)?]) -> EventLoopFuture<PostgresQueryResult> {
        var bindings = PostgresBindings(capacity: arguments.count)
        for value in arguments.sqlValues {
            switch value {
            case .null: bindings.appendNull()
            case .int(let int): bindings.append(int)
            case .text(let text): bindings.append(text)
            }
        }
        let text = arguments.isEmpty ? sql : Self.numberedPlaceholders(sql)
        return connection.query(PostgresQuery(unsafeSQL: text, binds: bindings), logger: logger)
    }

    static func value(_ cell: PostgresCell) -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return (try? cell.decode(Int64.self)).map(SQLValue.int) ?? .null
        case .bool: return (try? cell.decode(Bool.self)).map { .int($0 ? 1 : 0) } ?? .null
        default: return (try? cell.decode(String.self)).map(SQLValue.text) ?? .null
        }
    }

    /// `?` → `$1, $2, …` and `?N` → `$N`, outside quoted text.
    static func numberedPlaceholders(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var next = 1
        var quote: Character?
        var iterator = sql.makeIterator()
        var pending: Character? = iterator.next()
        while let c = pending {
            pending = iterator.next()
            if let q = quote {
                out.append(c)
                if c == q { quote = nil }
                continue
            }
            if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "?" {
                var digits = ""
                while let d = pending, d.isASCII, d.isNumber {
                    digits.append(d)
                    pending = iterator.next()
                }
                if digits.isEmpty {
                    out += "$\(next)"
                    next += 1
                } else {
                    out += "$" + digits
                }
            } else {
                out.append(c)
            }
        }
        return out
    }
}
