import Foundation
import GatehouseDirectory
import GatehouseDomain
import GatehouseSignIn
import GatehouseStorage
import Synchronization

/// The service layer: every operation an administrator or the Codecov instance can ask for,
/// called alike by the CLI and the HTTP handlers, which only parse input and render output.
///
/// Time is injected (`now`), so expiry, grace and clock-rollback behaviour is testable
/// exactly, without sleeping.
public final class Gatehouse: Sendable {
    public let store: any Store
    public let trustedKeys: TrustedKeys
    /// The host of the configured instance URL; licenses must name it.
    public let instanceHost: String?
    public let now: @Sendable () -> Date
    /// Secrets of the membership webhooks.
    public let webhooks: WebhookSecrets
    /// The company directory and how it is read, when one is configured.
    public let directory: (any DirectoryClient)?
    public let directorySettings: DirectoryConfiguration?
    /// Resolves destination names for the egress check and the proxy (the system resolver
    /// unless a test brings its own).
    public let resolver: any EgressResolver
    /// The gate in front of Codecov (`gate:`), when configured, and its sign-in providers by name.
    public let gate: GateConfiguration?
    let signInProviders: [String: any SignInProvider]
    /// Where notifications go (`notifications:`).
    public let notificationChannels: [NotificationChannel]
    /// Who may use the console besides the admins of login.yml (`console:`).
    public let console: ConsoleSettings
    /// How many SCIM people may leave in an hour.
    public let scimRemoval: ScimRemovalGuard
    /// The term's seat history, derived once per change (see `termHistory`), and the console's
    /// people in name order, once per change of people (see `peoplePage`).
    let termHistoryCache = Mutex<TermHistory?>(nil)
    let peopleOrderCache = Mutex<PeopleOrder?>(nil)
    /// The last look at the audit chain for `audit.broken` (a whole-chain check, hourly).
    let auditCheck = Mutex<(at: Date, broken: (seq: Int64, problem: String)?)?>(nil)
    /// What decisions are answered from (loaded on first use, refreshed on change).
    let live = LiveState()
    /// Seat activations waiting for the writer, written together.
    let activations: ActivationQueue
    /// Where this server's clock observations started (see `observeClock()`); nil until the first.
    let clockObserver = Mutex<ClockObserver?>(nil)
    /// This process among the replicas sharing a database (holder of periodic-job leases):
    /// host name (gethostname, no lookup), process id and a random part.
    public let replicaID: String = {
        var name = [CChar](repeating: 0, count: 256)
        let host =
            gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "host"
        return "\(host)/\(getpid())/\(UUID().uuidString.prefix(8).lowercased())"
    }()

    public init(
        store: any Store, trustedKeys: TrustedKeys, instanceHost: String?, webhooks: WebhookSecrets = WebhookSecrets(),
        directory: DirectoryConfiguration? = nil, resolver: any EgressResolver = SystemResolver(), gate: GateConfiguration? = nil,
        notifications: [NotificationChannel] = [], console: ConsoleSettings = ConsoleSettings(), scimRemoval: ScimRemovalGuard? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.activations = ActivationQueue { try await store.activateSeats($0) }
        self.scimRemoval = scimRemoval ?? ScimRemovalGuard(maxPercent: directory?.maxRemovalPercent ?? 10)
        self.console = console
        self.notificationChannels = notifications
        self.gate = gate
        self.signInProviders = Dictionary(uniqueKeysWithValues: (gate?.signIn ?? []).map { ($0.name, $0.makeProvider()) })
        self.resolver = resolver
        self.directorySettings = directory
        self.directory = directory.map { LDAPDirectory($0) }
        self.webhooks = webhooks
        self.trustedKeys = trustedKeys
        self.instanceHost = instanceHost
        self.now = now
    }

    /// Builds the service from configuration, opening the database. Unless `create`, the
    /// schema must already be current (`gatehouse migrate`).
    public static func open(_ config: GatehouseConfiguration, create: Bool = false, now: @escaping @Sendable () -> Date = { Date() })
        async throws -> Gatehouse
    {
        let store = try DatabaseLocation(config.database).open(create: create)
        let gatehouse = Gatehouse(
            store: store, trustedKeys: try config.trustedKeys(), instanceHost: config.instanceHost, webhooks: config.webhooks,
            directory: config.directory, gate: config.gate, notifications: config.notifications, console: config.console,
            scimRemoval: config.scimRemovalGuard, now: now)
        if !create { try await gatehouse.requireCurrentSchema() }
        return gatehouse
    }

    /// Refuses to run on a database that is not migrated to exactly this binary's schema.
    public func requireCurrentSchema() async throws {
        let status = try await store.schemaStatus()
        if status.applied.isEmpty {
            throw GatehouseError(
                .store(.notInitialised), "the database has no schema yet: run `gatehouse migrate`")
        }
        if !status.pending.isEmpty {
            throw GatehouseError(
                .store(.needsMigration),
                "the database needs migration\(status.pending.count == 1 ? "" : "s") \(status.pending.map(String.init).joined(separator: ", ")): run `gatehouse migrate`"
            )
        }
    }

    /// Applies pending migrations.
    public func migrate(actor: String) async throws -> [Int] {
        try await store.migrate(actor: actor, at: now())
    }

    /// The schema versions applied, and those this binary knows.
    public func schemaStatus() async throws -> SchemaStatus { try await store.schemaStatus() }

    /// Where the database is, without its password (for messages).
    public var databaseLocation: String { store.location }
}
