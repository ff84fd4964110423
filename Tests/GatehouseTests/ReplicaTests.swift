import Foundation
import GatehouseDomain
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real `gatehouse serve` process; its log is drained on a thread of its own.
final class Replica: Sendable {
    let process: Process
    private let log = Mutex("")
    private let url = Mutex("")

    private init(process: Process, reading reader: FileHandle) {
        self.process = process
        Thread { [self] in
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                self.log.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
            }
        }.start()
    }

    var base: String { url.withLock { $0 } }
    /// The forward-auth listener's port (when the replica has a gate).
    var gatePort: Int { gate.withLock { $0 } }
    private let gate = Mutex(0)
    var output: String { log.withLock { $0 } }

    /// - Parameters:
    ///   - fileLimit: run under this open-file limit (soft and hard, via prlimit).
    ///   - clockOffset: run with the clock this far off, e.g. `+30d` (faketime).
    static func start(in dir: TempDir, environment: [String: String], fileLimit: Int? = nil, clockOffset: String? = nil) async throws
        -> Replica
    {
        let process = Process()
        var command = [gatehouseBinary, "serve", "--port", "0", "--egress-port", "0", "--gate-port", "0"]
        if let clockOffset { command = [try requireProgram("faketime", package: "faketime"), "-f", clockOffset] + command }
        if let fileLimit { command = [try requireProgram("prlimit", package: "util-linux"), "--nofile=\(fileLimit):\(fileLimit)"] + command }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        process.environment = environment
        let pipe = privatePipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let replica = Replica(process: process, reading: pipe.fileHandleForReading)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            if let found = replica.output.firstMatch(of: /url=(http:\/\/127\.0\.0\.1:\d+)/)?.1 {
                replica.url.withLock { $0 = String(found) }
                if let gate = replica.output.firstMatch(of: /gate=127\.0\.0\.1:(\d+)/)?.1 { replica.gate.withLock { $0 = Int(gate) ?? 0 } }
                return replica
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        throw ClusterFailed(message: "gatehouse serve did not start: \(replica.output)")
    }

    /// Signals the server (and, when a wrapper such as faketime started it, the wrapper too).
    func kill(_ signal: Int32 = SIGKILL) {
        if process.isRunning { killTree(process.processIdentifier, signal: signal) }
        process.waitUntilExit()
    }

    /// POSTs JSON; the status and the parsed body (status 0 when the connection failed).
    func post(_ path: String, token: String, _ body: String) async -> (Int, JSONValue?) {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.timeoutInterval = 30
        do {
            let (data, response) = try await Replica.session.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, try? JSONValue.parse(Array(data)))
        } catch {
            return (0, nil)
        }
    }

    func login(_ user: String, token: String) async -> (Int, JSONValue?) {
        await post("/v1/authorize/login", token: token, "{\"provider\":\"github\",\"username\":\"\(user)\"}")
    }

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 32
        return URLSession(configuration: configuration)
    }()
}

/// One PostgreSQL database with a license and tokens, and the command line pointed at it.
struct ReplicaSetup {
    let cli: CLI
    let database: String
    let authorize: String
    let admin: String

    init(seats: Int64, cluster: PostgresCluster? = nil) throws {
        cli = try CLI()
        database = try (cluster ?? PostgresCluster.shared.get()).createDatabase()
        try cli.setUp(terms: CLITests.currentTerms(seats: seats), database: database)
        authorize = try cli.token("codecov", scope: "authorize")
        admin = try cli.token("ops", scope: "admin")
    }

    func replica() async throws -> Replica { try await Replica.start(in: cli.dir, environment: cli.environment) }

}

extension CLI {
    /// A new token's secret.
    func token(_ name: String, scope: String) throws -> String {
        try self("tokens", "create", "--name", name, "--scope", scope).expectSuccess().stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    /// `audit list --json` with `options`, as entries.
    func auditEntries(_ options: String...) throws -> [JSONValue] {
        let list = try JSONValue.parse(
            run(gatehouseBinary, ["audit", "list", "--json"] + options, cwd: dir.path, environment: environment).expectSuccess().stdout)
        guard case .array(let entries) = list else { throw ClusterFailed(message: "audit list gave no array: \(list)") }
        return entries
    }
}

extension ProcessHeavySuites {
    @Suite("Several replicas on one PostgreSQL database", .serialized)
    struct ReplicaTests {
        @Test("Replicas started together apply the migrations once")
        func migrationsOnce() async throws {
            let cli = try CLI()
            let database = try PostgresCluster.shared.get().createDatabase()
            let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                for _ in 0..<3 { group.addTask { try cli("migrate", "--database", database) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.stderr))")
            #expect(results.filter { $0.stdout.contains("applied migrations") }.count == 1, "\(results.map(\.stdout))")
            let entries = try cli.auditEntries("--database", database)
            #expect(entries.count == 1)
            #expect(entries.first?["action"] == "schema.migrate")
        }

        @Test("The seat race split across two replicas: never more seats than free, one audit chain")
        func raceAcrossReplicas() async throws {
            let setup = try ReplicaSetup(seats: 20)
            let a = try await setup.replica(), b = try await setup.replica()
            defer { a.kill(SIGTERM); b.kill(SIGTERM) }
            // 150 people, each logging in twice at once, once through each replica.
            let requests = (0..<300).map { ($0 % 2 == 0 ? a : b, "racer\($0 / 2)") }.shuffled()
            let results = await withTaskGroup(of: (String, Int, JSONValue?).self) { group in
                for (replica, user) in requests {
                    group.addTask {
                        let (status, body) = await replica.login(user, token: setup.authorize)
                        return (user, status, body)
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0.1 == 200 }, "statuses: \(Set(results.map(\.1)))")
            let allowed = Set(results.filter { $0.2?["allow"] == true }.map(\.0))
            #expect(allowed.count == 20)
            #expect(Set(results.filter { $0.2?["allow"] == false }.compactMap { $0.2?["reason"] }) == ["no_seat_available"])
            for user in allowed {
                #expect(Set(results.filter { $0.0 == user && $0.2?["allow"] == true }.compactMap { $0.2?["person"] }).count == 1)
            }
            #expect(try setup.cli.auditEntries("--action", "seat.activate").count == 20)
            try setup.cli("audit", "verify").expectSuccess()
        }

        @Test("A change made elsewhere reaches every replica's decisions within a second")
        func changesPropagate() async throws {
            let setup = try ReplicaSetup(seats: 1)
            let a = try await setup.replica(), b = try await setup.replica()
            defer { a.kill(SIGTERM); b.kill(SIGTERM) }
            #expect(await a.login("alice", token: setup.authorize).1?["allow"] == true)
            let viaB = await b.login("alice", token: setup.authorize)
            #expect(viaB.1?["allow"] == true, "\(viaB.0) \(viaB.1?.canonicalText ?? "")")
            try setup.cli("users", "block", "github:alice").expectSuccess()
            let blocked = try await Self.seconds(until: [a, b]) {
                await $0.login("alice", token: setup.authorize).1?["reason"] == "user_blocked"
            }
            #expect(blocked.allSatisfy { $0 < 1 }, "seen after \(blocked) s")

            // The one seat: bob's (alice's went with the block). Released through one replica and
            // taken by carol there, the other replica must stop answering bob's uploads from its
            // memory of his seat: it asks for a seat, and there is none.
            #expect(await a.login("bob", token: setup.authorize).1?["allow"] == true)
            let upload = #"{"repository":{"owner":"acme","name":"api","private":true},"author":{"provider":"github","username":"bob"}}"#
            #expect(await b.post("/v1/authorize/upload", token: setup.authorize, upload).1?["allow"] == true)
            #expect(await a.post("/v1/seats/github:bob/deactivate", token: setup.admin, "{}").0 == 200)
            #expect(await a.login("carol", token: setup.authorize).1?["allow"] == true)
            let released = try await Self.seconds(until: [b]) {
                await $0.post("/v1/authorize/upload", token: setup.authorize, upload).1?["allow"] == false
            }
            #expect(released.allSatisfy { $0 < 1 }, "seen after \(released) s")
        }

        /// Seconds from now until `answered` holds on each replica in turn (giving up after 5 s).
        static func seconds(until replicas: [Replica], _ answered: (Replica) async -> Bool) async throws -> [Double] {
            let start = Date()
            var seen: [Double] = []
            for replica in replicas {
                while Date().timeIntervalSince(start) < 5, await !answered(replica) { try await Task.sleep(for: .milliseconds(20)) }
                seen.append(Date().timeIntervalSince(start))
            }
            return seen
        }

        @Test("A replica killed mid-load: every acknowledged activation is kept and the audit chain verifies")
        func killedMidLoad() async throws {
            let setup = try ReplicaSetup(seats: 400)
            let a = try await setup.replica(), b = try await setup.replica()
            defer { b.kill(SIGTERM) }
            let acked = await withTaskGroup(of: String?.self) { group in
                for i in 0..<300 {
                    group.addTask {
                        let replica = i % 2 == 0 ? a : b
                        let (status, body) = await replica.login("load\(i)", token: setup.authorize)
                        return status == 200 && body?["allow"] == true ? "github:load\(i)" : nil
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(300))
                    a.kill(SIGKILL)
                    return nil
                }
                return await group.reduce(into: Set<String>()) { if let user = $1 { $0.insert(user) } }
            }
            let users = try JSONValue.parse(setup.cli("users", "list", "--seat", "active", "--json").expectSuccess().stdout)
            let seated = Set(users.canonicalText.matches(of: /github:load\d+/).map { String($0.output) })
            #expect(acked.count > 0)
            #expect(acked.isSubset(of: seated), "lost: \(acked.subtracting(seated).sorted().prefix(5))")
            try setup.cli("audit", "verify").expectSuccess()
        }

        @Test("The database restarted mid-load: requests fail cleanly with 503 and recover without restarting gatehouse")
        func databaseRestart() async throws {
            let cluster = try PostgresCluster()
            let setup = try ReplicaSetup(seats: 400, cluster: cluster)
            let a = try await setup.replica()
            defer { a.kill(SIGTERM) }
            #expect(await a.login("before", token: setup.authorize).1?["allow"] == true)
            try cluster.stop()
            let (down, body) = await a.login("during", token: setup.authorize)
            #expect(down == 503, "\(down) \(body?.canonicalText ?? "")")
            #expect(body?["error"]?["code"] == "database_unavailable")
            // Someone already seated is still answered from memory.
            #expect(await a.login("before", token: setup.authorize).0 == 200)
            try cluster.start()
            var recovered = false
            let deadline = Date().addingTimeInterval(20)
            while !recovered, Date() < deadline {
                recovered = await a.login("during", token: setup.authorize).1?["allow"] == true
                if !recovered { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(recovered)
            #expect(a.process.isRunning)
            try setup.cli("audit", "verify").expectSuccess()
        }
    }
}

@Suite("Moving between engines", .serialized)
struct DatabaseCopyTests {
    @Test("db copy moves SQLite to PostgreSQL (and back) with the audit chain verified; a non-empty target is refused")
    func sqliteToPostgresAndBack() async throws {
        let cli = try CLI()
        try cli.setUp(terms: CLITests.currentTerms)
        try cli("seats", "activate", "github:alice").expectSuccess()
        try cli("seats", "activate", "gitlab:bob").expectSuccess()
        try cli("users", "block", "gitlab:bob").expectSuccess()
        try cli("tokens", "create", "--name", "codecov", "--scope", "authorize").expectSuccess()
        let postgres = try PostgresCluster.shared.get().createDatabase()

        let copied = try cli("db", "copy", "--from", "sqlite:gatehouse.db", "--to", postgres).expectSuccess()
        #expect(copied.stdout.contains("intact"), "\(copied.stdout)")
        #expect(copied.stderr.contains("copied 2 rows of persons"), "\(copied.stderr)")
        try cli("audit", "verify", "--database", postgres).expectSuccess()
        // The same people, seats, license and tokens on both; the copy says where it came from.
        for command in [
            ["users", "list", "--json"], ["seats", "status", "--json"], ["tokens", "list", "--json"], ["license", "status", "--json"],
        ] {
            let copy = try run(gatehouseBinary, command + ["--database", postgres], cwd: cli.dir.path, environment: cli.environment).stdout
            #expect(copy == (try run(gatehouseBinary, command, cwd: cli.dir.path, environment: cli.environment).stdout), "\(command)")
        }
        #expect(try cli.auditEntries("--database", postgres, "--limit", "1").first?["action"] == "database.copy")
        // A Gatehouse on the copy keeps working: a new person gets a seat.
        try cli("seats", "activate", "github:carol", "--database", postgres).expectSuccess()

        // Into a database that has a schema: refused, nothing changes.
        let before = try cli("audit", "list", "--json", "--database", postgres).stdout
        try cli("db", "copy", "--from", "sqlite:gatehouse.db", "--to", postgres).expectCleanFailure("already has a schema")
        #expect(try cli("audit", "list", "--json", "--database", postgres).stdout == before)

        // And back into a new SQLite file.
        try cli("db", "copy", "--from", postgres, "--to", "sqlite:back.db").expectSuccess()
        try cli("audit", "verify", "--database", "sqlite:back.db").expectSuccess()
        #expect(try cli("users", "list", "--json", "--database", "sqlite:back.db").stdout.contains("github:carol"))
    }

    @Test("A PostgreSQL password never appears in output or errors")
    func passwordNotShown() throws {
        let cli = try CLI()
        let port = try freeLoopbackPort()
        let url = "postgres://gatehouse:hunter2secret@127.0.0.1:\(port)/x?sslmode=disable"
        let result = try cli("migrate", "--database", url)
        result.expectCleanFailure("cannot connect to PostgreSQL")
        #expect(!result.stderr.contains("hunter2secret"))
        try cli("migrate", "--database", "postgres://gatehouse:hunter2secret@127.0.0.1/x?sslmode=maybe").expectCleanFailure(
            "sslmode must be one of")
    }
}
