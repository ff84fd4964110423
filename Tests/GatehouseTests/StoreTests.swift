import Crypto
import Foundation
import GRDB
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Testing

@Suite("SQLite store: schema and invariants")
struct StoreTests {
    @Test func migrationsAreEmbeddedAndApplyOnce() async throws {
        let dir = try TempDir()
        let store = try SQLStore.sqlite(path: dir.file("g.db"), create: true)
        let known = EmbeddedMigration.all(for: "sqlite")
        #expect(known.first?.version == 1)
        #expect(known.first?.sql.contains("CREATE TABLE audit_log") == true)
        #expect(try await store.migrate(actor: "test", at: Date()) == known.map(\.version))
        #expect(try await store.migrate(actor: "test", at: Date()).isEmpty)
        #expect(try await store.schemaStatus().pending.isEmpty)
        // WAL mode, so the CLI can read while the server writes.
        let mode = try await DatabaseQueue(path: dir.file("g.db")).read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test func missingDatabaseIsNotCreatedByReadCommands() throws {
        let dir = try TempDir()
        let error = #expect(throws: StoreError.self) { try SQLStore.sqlite(path: dir.file("absent.db"), create: false) }
        #expect(error?.code == .notInitialised)
        #expect(!FileManager.default.fileExists(atPath: dir.file("absent.db")))
    }

    @Test func unmigratedDatabaseIsRefusedWithAHint() async throws {
        let dir = try TempDir()
        _ = try SQLStore.sqlite(path: dir.file("g.db"), create: true)
        var config = GatehouseConfiguration()
        config.database = "sqlite:" + dir.file("g.db")
        let error = await #expect(throws: GatehouseError.self) { try await Gatehouse.open(config) }
        #expect(error?.message.contains("gatehouse migrate") == true)
    }

    @Test func databaseNewerThanTheBinaryIsRefused() async throws {
        let dir = try TempDir()
        let store = try SQLStore.sqlite(path: dir.file("g.db"), create: true)
        _ = try await store.migrate(actor: "test", at: Date())
        try await DatabaseQueue(path: dir.file("g.db")).write {
            try $0.execute(sql: "INSERT INTO schema_migrations VALUES (99, 'from_the_future', 'x', '2030-01-01T00:00:00Z')")
        }
        let error = await #expect(throws: StoreError.self) { try await store.schemaStatus() }
        #expect(error?.code == .schemaTooNew)
        #expect(error?.message.contains("upgrade gatehouse") == true)
        await #expect(throws: StoreError.self) { try await store.migrate(actor: "test", at: Date()) }
    }

    @Test func editedMigrationIsRefused() async throws {
        let dir = try TempDir()
        let store = try SQLStore.sqlite(path: dir.file("g.db"), create: true)
        _ = try await store.migrate(actor: "test", at: Date())
        try await DatabaseQueue(path: dir.file("g.db")).write { try $0.execute(sql: "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1") }
        let error = await #expect(throws: StoreError.self) { try await store.schemaStatus() }
        #expect(error?.code == .migrationChanged)
    }

    @Test func schemaEnforcesOneLicenseInForceAndChecks() async throws {
        let dir = try TempDir()
        let store = try SQLStore.sqlite(path: dir.file("g.db"), create: true)
        _ = try await store.migrate(actor: "test", at: Date())
        let queue = try DatabaseQueue(path: dir.file("g.db"))
        let insert = """
            INSERT INTO licenses (license_id, licensee, kid, seats, seat_price_cents, currency, starts_at, expires_at, term_starts_at,
                file_text, installed_at, installed_by, in_force)
            VALUES (?, 'A', 'k', 1, 1, 'USD', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '', '', '', 1)
            """
        try await queue.write { try $0.execute(sql: insert, arguments: ["one"]) }
        #expect(throws: DatabaseError.self) { try queue.write { try $0.execute(sql: insert, arguments: ["two"]) } }
        #expect(throws: DatabaseError.self) {
            try queue.write { try $0.execute(sql: "INSERT INTO persons (id, created_at, seat) VALUES ('p_1', '', 'maybe')") }
        }
    }

    @Test func tokensAreStoredHashedAndNamesAreUnique() async throws {
        let dir = try TempDir()
        let clock = TestClock(Date())
        let gatehouse = try await TestVendor().gatehouse(in: dir, clock: clock)
        let created = try await gatehouse.createToken(name: "codecov", scope: .authorize, actor: "test")
        #expect(created.secret.hasPrefix(APIToken.prefix))
        #expect(created.record.lastFour == String(created.secret.suffix(4)))
        let stored = try DatabaseQueue(path: dir.file("gatehouse.db")).read { try Row.fetchAll($0, sql: "SELECT * FROM tokens") }
        #expect(stored.count == 1)
        #expect(stored[0]["hash"] as String == sha256Hex(created.secret))
        #expect(!stored[0].description.contains(created.secret))
        #expect(try await gatehouse.authenticate(bearer: created.secret)?.name == "codecov")
        #expect(try await gatehouse.authenticate(bearer: created.secret + "x") == nil)
        let duplicate = await #expect(throws: GatehouseError.self) { try await gatehouse.createToken(name: "codecov", scope: .admin, actor: "test") }
        #expect(duplicate?.kind == .conflict)
        try await gatehouse.revokeToken(name: "codecov", actor: "test")
        #expect(try await gatehouse.authenticate(bearer: created.secret) == nil)
        let missing = await #expect(throws: GatehouseError.self) { try await gatehouse.revokeToken(name: "codecov", actor: "test") }
        #expect(missing?.kind == .notFound)
        #expect(APIToken.constantTimeEquals("abc", "abc") && !APIToken.constantTimeEquals("abc", "abd") && !APIToken.constantTimeEquals("abc", "ab"))
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test func everyProblemIsReportedWithItsLine() throws {
        let dir = try TempDir()
        let path = try dir.write(
            "gatehouse.yml",
            """
            instance_url: https://codecov.acme.internal
            listen: {host: 0.0.0.0, port: 99999}
            licence: {}
            license:
              public_keys:
                - {kid: a, pem_file: missing.pem}
            """)
        let error = #expect(throws: GatehouseError.self) { try GatehouseConfiguration.load(path: path, environment: [:]) }
        let message = error?.message ?? ""
        #expect(message.contains("3 problems"))
        #expect(message.contains("line 2: listen.port"))
        #expect(message.contains("line 3: licence: unknown key"))
        #expect(message.contains("missing.pem"))
    }

    @Test func webhookSecretsFromFilesOrEnvironment() throws {
        let dir = try TempDir()
        _ = try dir.write("gh.secret", "s3cret\n")
        let path = try dir.write("g.yml", "webhooks:\n  github: {secret_file: gh.secret}\n")
        let config = try GatehouseConfiguration.load(path: path, environment: ["GATEHOUSE_GITLAB_WEBHOOK_TOKEN": "tok"])
        #expect(config.webhooks.github == "s3cret")
        #expect(config.webhooks.gitlab == "tok")
        let missing = try dir.write("m.yml", "webhooks:\n  gitlab: {token_file: nowhere.token}\n")
        let error = #expect(throws: GatehouseError.self) { try GatehouseConfiguration.load(path: missing, environment: [:]) }
        #expect(error?.message.contains("line 2: webhooks.gitlab.token_file: cannot read a secret") == true)
        #expect(error?.message.contains("s3cret") == false)
    }

    /// Event loop counts: the egress proxy's (one) and the HTTP ports' (four per core).
    @Test("Thread counts default as documented and are bounded", arguments: ["egress_proxy", "http"])
    func threadCounts(section: String) throws {
        let threads: (GatehouseConfiguration) -> Int = section == "http" ? { $0.http.threads } : { $0.egressProxy.threads }
        let byDefault = section == "http" ? 4 * ProcessInfo.processInfo.activeProcessorCount : 1
        let dir = try TempDir()
        #expect(threads(try GatehouseConfiguration.load(path: dir.write("a.yml", "database: sqlite:a.db\n"), environment: [:])) == byDefault)
        let three = try GatehouseConfiguration.load(path: dir.write("b.yml", "\(section): {threads: 3}\n"), environment: [:])
        #expect(threads(three) == 3)
        for bad in ["0", "257", "two"] {
            let path = try dir.write("c.yml", "\(section): {threads: \(bad)}\n")
            let error = #expect(throws: GatehouseError.self) { try GatehouseConfiguration.load(path: path, environment: [:]) }
            #expect(error?.message.contains("line 1: \(section).threads: expected a whole number from 1 to 256") == true, "\(bad)")
        }
    }

    @Test func layersApplyInOrder() throws {
        let dir = try TempDir()
        _ = try dir.write("v.pub.pem", VendorKey.pem(TestVendor().key.publicKey))
        let path = try dir.write("g.yml", "database: sqlite:file.db\nlisten: {port: 9000}\nlicense: {public_keys: [{kid: v, pem_file: v.pub.pem}]}\n")
        let config = try GatehouseConfiguration.load(path: path, environment: ["GATEHOUSE_LISTEN_PORT": "9100", "GATEHOUSE_INSTANCE_URL": "https://x.example"])
        #expect(config.database == "sqlite:file.db")
        #expect(config.listenPort == 9100)
        #expect(config.instanceHost == "x.example")
        #expect(try config.trustedKeys().kids == ["v"])
        let bad = #expect(throws: GatehouseError.self) { try GatehouseConfiguration.load(path: path, environment: ["GATEHOUSE_LISTEN_PORT": "http"]) }
        #expect(bad?.message.contains("GATEHOUSE_LISTEN_PORT") == true)
    }
}
