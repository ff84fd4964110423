import Foundation
import GatehouseDirectory
import GatehouseDomain
import Yams

/// `gatehouse.yml` as typed values (SPEC section 7). Every key is optional; layers apply as
/// command line > environment (`GATEHOUSE_<KEY>`) > file > defaults.
public struct GatehouseConfiguration: Sendable {
    /// The Codecov instance this installation serves; a license must name the same host.
    public var instanceURL: String?
    /// `sqlite:PATH` or `postgres://…`.
    public var database = "sqlite:gatehouse.db"
    public var listenHost = "127.0.0.1"
    public var listenPort = 8080
    public var egressPort = 3128
    /// The gate's forward-auth listener (`/gate/auth` for the reverse proxy), when a gate is configured.
    public var gatePort = 8181
    /// Timeouts and the connection cap of the API and forward-auth ports (`http:`).
    public var http = HTTPConnectionSettings()
    /// Timeouts and the connection cap of the egress proxy (`egress_proxy:`).
    public var egressProxy = EgressProxyLimits()
    /// Directory of policy files.
    public var policies = "./policies"
    /// Trusted vendor keys by kid, PEM text.
    public var publicKeys: [String: String] = [:]
    /// Membership webhook secrets (from files or the environment; never printed).
    public var webhooks = WebhookSecrets()
    /// The company directory, when one is configured (`ldap:`).
    public var directory: DirectoryConfiguration?
    /// The gate in front of Codecov, when configured (`gate:`).
    public var gate: GateConfiguration?
    /// Where notifications go (`notifications:`).
    public var notifications: [NotificationChannel] = []
    /// Who may use the console besides the admins of login.yml (`console:`).
    public var console = ConsoleSettings()
    /// The SCIM removal guard (`scim:`); by default the directory's `max_removal_percent`.
    public var scim: ScimRemovalGuard?

    /// How many SCIM people may leave in an hour.
    public var scimRemovalGuard: ScimRemovalGuard { scim ?? ScimRemovalGuard(maxPercent: directory?.maxRemovalPercent ?? 10) }
    /// Where this configuration came from, for messages.
    public var source: String?

    public init() {}

    /// The normalised host of `instanceURL`.
    public var instanceHost: String? { instanceURL.flatMap(LicenseTerms.host(of:)) }

    /// The trusted vendor keys, parsed.
    public func trustedKeys() throws(GatehouseError) -> TrustedKeys {
        var keys = TrustedKeys()
        var problems: [String] = []
        for (kid, pem) in publicKeys.sorted(by: { $0.key < $1.key }) {
            do {
                keys.trust(try VendorKey.publicKey(pem: pem), kid: kid)
            } catch {
                problems.append("license.public_keys \(kid): \(error)")
            }
        }
        guard problems.isEmpty else { throw GatehouseError(.invalidConfiguration, problems.joined(separator: "; ")) }
        return keys
    }
}

extension GatehouseConfiguration {
    /// Loads configuration: the file at `path` (or `gatehouse.yml` in the working directory if
    /// present), then environment overrides. Every problem is reported in one error.
    public static func load(path: String?, environment: [String: String]) throws(GatehouseError) -> GatehouseConfiguration {
        var config = GatehouseConfiguration()
        var problems: [String] = []
        let file = path ?? (FileManager.default.fileExists(atPath: "gatehouse.yml") ? "gatehouse.yml" : nil)
        if let file {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                throw GatehouseError(.invalidConfiguration, "cannot read configuration file \(file)")
            }
            config.source = file
            problems += config.apply(yaml: text, file: file, environment: environment)
        }
        problems += config.apply(environment: environment)
        if let url = config.instanceURL, LicenseTerms.host(of: url) == nil {
            problems.append("instance_url: expected an http(s) URL with a host, got \"\(url)\"")
        }
        problems += config.directory?.problems() ?? []
        guard problems.isEmpty else {
            throw GatehouseError(.invalidConfiguration,
                "configuration has \(problems.count) problem\(problems.count == 1 ? "" : "s"): " + problems.joined(separator: "; "))
        }
        return config
    }

    static let topLevelKeys: Set<String> = [
        "instance_url", "database", "listen", "policies", "license", "ldap", "webhooks", "egress_proxy", "gate", "http", "notifications", "console", "scim",
    ]

    /// Applies a YAML document; returns the problems found.
    mutating func apply(yaml text: String, file: String, environment: [String: String] = [:]) -> [String] {
        var reader = YAMLReader(file: file)
        guard let root = reader.root(text) else { return reader.problems }
        let top = reader.mapping(root, "", allowed: Self.topLevelKeys)
        if let value = reader.string(top["instance_url"], "instance_url") { instanceURL = value }
        if let value = reader.string(top["database"], "database") { database = value }
        if let value = reader.string(top["policies"], "policies") { policies = value }
        let listen = reader.mapping(top["listen"], "listen", allowed: ["host", "port", "egress_port", "gate_port"])
        if let value = reader.string(listen["host"], "listen.host") { listenHost = value }
        if let value = reader.integer(listen["port"], "listen.port", in: 1...65535) { listenPort = value }
        if let value = reader.integer(listen["egress_port"], "listen.egress_port", in: 1...65535) { egressPort = value }
        if let value = reader.integer(listen["gate_port"], "listen.gate_port", in: 1...65535) { gatePort = value }
        let license = reader.mapping(top["license"], "license", allowed: ["public_keys"])
        for (i, entry) in reader.sequence(license["public_keys"], "license.public_keys").enumerated() {
            let path = "license.public_keys[\(i)]"
            let fields = reader.mapping(entry, path, allowed: ["kid", "pem", "pem_file"])
            guard let kid = reader.string(fields["kid"], "\(path).kid"), !kid.isEmpty else {
                reader.problem(entry, path, "kid is required")
                continue
            }
            switch (reader.string(fields["pem"], "\(path).pem"), reader.string(fields["pem_file"], "\(path).pem_file")) {
            case (let pem?, nil): publicKeys[kid] = pem
            case (nil, let pemFile?):
                let resolved = Self.resolve(pemFile, relativeTo: file)
                if let data = FileManager.default.contents(atPath: resolved), let pem = String(data: data, encoding: .utf8) {
                    publicKeys[kid] = pem
                } else {
                    reader.problem(fields["pem_file"], "\(path).pem_file", "cannot read \(resolved)")
                }
            default: reader.problem(entry, path, "give exactly one of pem or pem_file")
            }
        }
        let webhooks = reader.mapping(top["webhooks"], "webhooks", allowed: ["github", "gitlab"])
        for (provider, key) in [("github", "secret_file"), ("gitlab", "token_file")] {
            let section = reader.mapping(webhooks[provider], "webhooks.\(provider)", allowed: [key])
            guard let path = reader.string(section[key], "webhooks.\(provider).\(key)") else { continue }
            let resolved = Self.resolve(path, relativeTo: file)
            guard let data = FileManager.default.contents(atPath: resolved), let text = String(data: data, encoding: .utf8),
                !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            else {
                reader.problem(section[key], "webhooks.\(provider).\(key)", "cannot read a secret from \(resolved)")
                continue
            }
            let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if provider == "github" { self.webhooks.github = secret } else { self.webhooks.gitlab = secret }
        }
        applyDirectory(top["ldap"], reader: &reader, file: file)
        applyEgressProxy(top["egress_proxy"], reader: &reader)
        applyGate(top["gate"], reader: &reader, file: file, environment: environment)
        applyHTTP(top["http"], reader: &reader)
        applyNotifications(top["notifications"], reader: &reader, file: file)
        let scim = reader.mapping(top["scim"], "scim", allowed: ["max_removal_percent", "min_removals_per_hour"])
        if !scim.isEmpty {
            var removal = scimRemovalGuard
            if let v = reader.integer(scim["max_removal_percent"], "scim.max_removal_percent", in: 0...100) { removal.maxPercent = v }
            if let v = reader.integer(scim["min_removals_per_hour"], "scim.min_removals_per_hour", in: 0...1_000_000) { removal.floor = v }
            self.scim = removal
        }
        let console = reader.mapping(top["console"], "console", allowed: ["admin_groups", "read_groups"])
        for (key, path) in [("admin_groups", \ConsoleSettings.adminGroups), ("read_groups", \ConsoleSettings.readGroups)] {
            let names = reader.sequence(console[key], "console.\(key)").compactMap { reader.string($0, "console.\(key)") }
            self.console[keyPath: path] = Set(names.map { $0.lowercased() })
        }
        return reader.problems
    }

    /// Applies `GATEHOUSE_<KEY>` environment overrides; returns the problems found.
    mutating func apply(environment env: [String: String]) -> [String] {
        var problems: [String] = []
        if let value = env["GATEHOUSE_INSTANCE_URL"] { instanceURL = value }
        if let value = env["GATEHOUSE_DATABASE"] { database = value }
        if let value = env["GATEHOUSE_POLICIES"] { policies = value }
        if let value = env["GATEHOUSE_LISTEN_HOST"] { listenHost = value }
        if let value = env["GATEHOUSE_GITHUB_WEBHOOK_SECRET"], !value.isEmpty { webhooks.github = value }
        if let value = env["GATEHOUSE_GITLAB_WEBHOOK_TOKEN"], !value.isEmpty { webhooks.gitlab = value }
        applyDirectory(environment: env)
        for (key, path) in [
            ("GATEHOUSE_LISTEN_PORT", \Self.listenPort), ("GATEHOUSE_LISTEN_EGRESS_PORT", \Self.egressPort),
            ("GATEHOUSE_LISTEN_GATE_PORT", \Self.gatePort),
        ] {
            guard let text = env[key] else { continue }
            if let value = Int(text), (1...65535).contains(value) {
                self[keyPath: path] = value
            } else {
                problems.append("\(key): expected a port number, got \"\(text)\"")
            }
        }
        // GATEHOUSE_LICENSE_PUBLIC_KEYS="kid=/path/to/key.pem,kid2=/other.pem"
        if let text = env["GATEHOUSE_LICENSE_PUBLIC_KEYS"] {
            for item in text.split(separator: ",") {
                let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty else {
                    problems.append("GATEHOUSE_LICENSE_PUBLIC_KEYS: expected kid=path entries separated by commas")
                    continue
                }
                if let data = FileManager.default.contents(atPath: parts[1]), let pem = String(data: data, encoding: .utf8) {
                    publicKeys[parts[0]] = pem
                } else {
                    problems.append("GATEHOUSE_LICENSE_PUBLIC_KEYS: cannot read \(parts[1])")
                }
            }
        }
        return problems
    }

    /// A path in a configuration file is relative to that file's directory.
    static func resolve(_ path: String, relativeTo file: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        return URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(path).path
    }
}
