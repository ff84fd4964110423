import Foundation
import GatehouseService
import GatehouseStorage
import Synchronization
import Testing

/// A throwaway PostgreSQL cluster: `initdb` in a temporary directory, started on a free
/// loopback port as the unprivileged `postgres` user (PostgreSQL refuses to run as root), and
/// removed when the test process exits. Tests share one cluster and each gets a database of
/// its own; a test that stops the server makes a cluster of its own.
final class PostgresCluster: Sendable {
    let directory: String
    let port: Int
    let bin: String
    let owner: String?
    /// Whether the server speaks only TLS (`hostssl`; plain connections refused).
    let tlsOnly: Bool
    private let running = Mutex(true)

    private static let counter = Atomic<Int>(0)
    private static let clusters = Mutex<[PostgresCluster]>([])
    private static let cleanup: Void = {
        atexit {
            for cluster in PostgresCluster.clusters.withLock({ $0 }) { cluster.destroy() }
        }
    }()

    /// The cluster shared by the tests of this process.
    static let shared = Result { try PostgresCluster() }

    /// The directory holding initdb, pg_ctl and postgres (Debian keeps them out of PATH).
    static func binaries() throws -> String {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            let bin = "/usr/lib/postgresql/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: bin + "/initdb") { return bin }
        }
        let initdb = try requireProgram("initdb", package: "postgresql")
        return (initdb as NSString).deletingLastPathComponent
    }

    /// - Parameter tls: a certificate to serve; the server then refuses connections without TLS.
    init(tls: TLS? = nil) throws {
        _ = Self.cleanup
        bin = try Self.binaries()
        _ = try requireProgram("psql", package: "postgresql-client")
        // A directory of its own under /tmp (the test's TempDir is private to root).
        var template = Array("/tmp/gatehouse-pg-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { throw CocoaError(.fileWriteUnknown) }
        directory = String(cString: made)
        if geteuid() == 0 {
            // The Debian package creates the postgres user.
            guard getpwnam("postgres") != nil else {
                throw MissingProgram(message: "no postgres user to run PostgreSQL as: run `make test-deps` or `apt-get install postgresql`")
            }
            owner = "postgres"
            try run("/bin/chown", ["postgres:postgres", directory])
        } else {
            owner = nil
        }
        port = try freeLoopbackPort()
        tlsOnly = tls != nil
        Self.clusters.withLock { $0.append(self) }
        let initdb = try asOwner(
            bin + "/initdb", ["-D", directory + "/data", "-U", "gatehouse", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        guard initdb.status == 0 else { throw ClusterFailed(message: "initdb failed: \(initdb.stderr)") }
        if let tls { try serveTLS(tls) }
        try start()
    }

    /// A command line that runs as the cluster's owner.
    func asOwner(_ argv: [String]) -> [String] {
        owner.map { ["/usr/sbin/runuser", "-u", $0, "--"] + argv } ?? argv
    }

    /// Runs a PostgreSQL program as the cluster's owner.
    @discardableResult
    func asOwner(_ program: String, _ arguments: [String]) throws -> ProcessResult {
        let argv = asOwner([program] + arguments)
        return try run(argv[0], Array(argv.dropFirst()))
    }

    /// Installs the certificate and key (PostgreSQL reads them as their owner, the key private)
    /// and lets loopback clients in over TLS only.
    private func serveTLS(_ tls: TLS) throws {
        try FileManager.default.copyItem(atPath: tls.certFile, toPath: directory + "/server.pem")
        try FileManager.default.copyItem(atPath: tls.keyFile, toPath: directory + "/server.key")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory + "/server.key")
        if let owner { try run("/bin/chown", ["\(owner):\(owner)", directory + "/server.pem", directory + "/server.key"]) }
        // Overwritten in place: the file keeps its owner.
        try "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n".write(
            toFile: directory + "/data/pg_hba.conf", atomically: false, encoding: .utf8)
    }

    func start() throws {
        var options = "-p \(port) -h 127.0.0.1 -k \(directory) -c fsync=off -c max_connections=200"
        if tlsOnly { options += " -c ssl=on -c ssl_cert_file=\(directory)/server.pem -c ssl_key_file=\(directory)/server.key" }
        // pg_ctl leaves a server running that would inherit its descriptors, so Foundation's
        // Process (which watches a descriptor the server keeps open) would never see pg_ctl
        // exit: spawn it with posix_spawn, only stdin/stdout/stderr, and wait with waitpid.
        let pgctl = [bin + "/pg_ctl", "start", "-w", "-t", "30", "-D", directory + "/data", "-l", directory + "/log", "-o", options]
        let status = try spawnAndWait(
            asOwner(pgctl), output: directory + "/pg_ctl.out")
        guard status == 0 else {
            let log = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
            throw ClusterFailed(message: "PostgreSQL did not start (pg_ctl exit \(status)): \(log.suffix(2000))")
        }
        running.withLock { $0 = true }
    }

    /// Stops the server at once (open connections are cut, as when a database host restarts).
    func stop() throws {
        try asOwner(bin + "/pg_ctl", ["stop", "-w", "-m", "fast", "-D", directory + "/data"])
        running.withLock { $0 = false }
    }

    private func destroy() {
        if running.withLock({ $0 }) { _ = try? asOwner(bin + "/pg_ctl", ["stop", "-m", "immediate", "-D", directory + "/data"]) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs SQL as the superuser on the `postgres` database.
    @discardableResult
    func psql(_ sql: String, database: String = "postgres") throws -> String {
        let result = try run(
            "/usr/bin/env",
            [
                "psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", "gatehouse", "-d",
                database, "-c", sql,
            ])
        guard result.status == 0 else { throw ClusterFailed(message: "psql failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new empty database; its URL.
    func createDatabase() throws -> String {
        let name = "t\(Self.counter.wrappingAdd(1, ordering: .relaxed).oldValue)_\(getpid())"
        try psql("CREATE DATABASE \(name)")
        return url(name)
    }

    func url(_ database: String) -> String { "postgres://gatehouse@127.0.0.1:\(port)/\(database)?sslmode=disable" }
}

/// Runs a program with stdin from /dev/null and stdout/stderr to `output`; its exit status.
func spawnAndWait(_ argv: [String], output: String) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    // Nothing else is inherited: the server lives on, and a descriptor of this process it
    // kept open (another test's pipe to its child) would never reach end-of-file.
    // (glibc ≥ 2.34 has it, but Swift's Glibc module does not export it.)
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
        throw ClusterFailed(message: "this C library has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later is needed)")
    }
    _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
    var pid: pid_t = 0
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { for arg in cArgs { free(arg) } }
    let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ)
    guard spawned == 0 else { throw ClusterFailed(message: "cannot run \(argv[0]): \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    return (status >> 8) & 0xff
}

struct ClusterFailed: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The engines the storage conformance tests run against.
enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// A fresh, empty database of this engine: a file in `dir`, or a new database on the
    /// shared cluster. Its `--database` text.
    func newDatabase(in dir: TempDir, name: String = "gatehouse.db") throws -> String {
        switch self {
        case .sqlite: return "sqlite:" + dir.file(name)
        case .postgres: return try PostgresCluster.shared.get().createDatabase()
        }
    }

    /// A store over a fresh database, opened as `--database` would open it.
    func newStore(in dir: TempDir, name: String = "gatehouse.db") throws -> any Store {
        try DatabaseLocation(newDatabase(in: dir, name: name)).open(create: true)
    }
}

/// An ACCESS EXCLUSIVE lock on one table of a test database, held by a psql session on a
/// thread of its own (psql blocks while it holds it): a statement of Gatehouse's reading the
/// table waits, and with it the read it belongs to, until `release()`. How a test stops a read
/// halfway, to write something meanwhile.
final class HeldTableLock: Sendable {
    let cluster: PostgresCluster
    let database: String
    let table: String
    private let ended = DispatchGroup()

    /// Takes the lock; returns once it is held. `databaseURL`: the store's location.
    init(_ table: String, databaseURL: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        cluster = try PostgresCluster.shared.get()
        database = try #require(URL(string: databaseURL), sourceLocation: sourceLocation).lastPathComponent
        self.table = table
        let sql = "BEGIN; LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;"
        // A thread of its own, not one of Dispatch's few global ones: it blocks for as long as
        // the lock is held, and running a program (psql, here and elsewhere) needs those.
        ended.enter()
        Thread.detachNewThread { [cluster, database, ended] in
            _ = try? cluster.psql(sql, database: database)
            ended.leave()
        }
        try await waitUntil("l.mode = 'AccessExclusiveLock' AND l.granted", "the lock on \(table) was never taken", sourceLocation)
    }

    /// Statements waiting for the lock.
    func waiting() throws -> Int { try locks("NOT l.granted") }

    /// Returns once a statement waits for the lock.
    func waitForWaiter(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await waitUntil("NOT l.granted", "nothing waited for the lock on \(table)", sourceLocation)
    }

    /// Ends the holding session (its transaction rolls back): the waiting statements go on.
    func release() throws {
        try cluster.psql(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                + "WHERE c.relname = '\(table)' AND l.mode = 'AccessExclusiveLock' AND l.granted", database: database)
        ended.wait()
    }

    private func locks(_ condition: String) throws -> Int {
        let sql = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = '\(table)' AND \(condition)"
        return Int(try cluster.psql(sql, database: database)) ?? 0
    }

    private func waitUntil(_ condition: String, _ failure: String, _ sourceLocation: SourceLocation) async throws {
        var tries = 0
        while try locks(condition) == 0, tries < 500 {
            tries += 1
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try locks(condition) > 0, Comment(rawValue: failure), sourceLocation: sourceLocation)
    }
}
