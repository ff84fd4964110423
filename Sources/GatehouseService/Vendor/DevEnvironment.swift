import Crypto
import Foundation
import GatehouseDomain
import GatehouseStorage

/// What `gatehouse serve --dev` sets up (like `vault server -dev`): a throwaway database in a
/// temporary directory, a dev vendor key, a dev license (50 seats, one year) and two tokens.
/// Never for production: the key and tokens are printed and the data is deleted on exit.
public struct DevEnvironment: Sendable {
    public static let instanceURL = "https://codecov.dev.localhost"
    public static let kid = "dev"

    public var directory: String
    public var configuration: GatehouseConfiguration
    public var licensePath: String
    public var authorizeToken: String
    public var adminToken: String
    /// For an identity provider (or curl) provisioning over SCIM at /scim/v2.
    public var scimToken: String = ""
    /// A one-time console sign-in link for the dev administrator (ten minutes).
    public var consoleLink: String?
    /// The administrator the link signs in (the policies' first, or a dev one).
    public var consoleAdmin: String?

    /// Creates the environment in a new temporary directory, applying the policies of
    /// `policies` (e.g. the shipped `policies/`) when that directory exists.
    /// The gate: `gate` (from gatehouse.yml) when given, else one whose public URL is this
    /// server's own address, without sign-in providers, to ask by hand.
    public static func create(listenHost: String, listenPort: Int, policies: String, gate: GateConfiguration? = nil, now: Date = Date())
        async throws -> DevEnvironment
    {
        var template = Array((URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("gatehouse-dev-XXXXXX").path).utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }).map({ String(cString: $0) }) else {
            throw GatehouseError(.devSetupFailed, "cannot create a temporary directory")
        }
        let key = Curve25519.Signing.PrivateKey()
        try FileOutput.write(VendorKey.pem(key.publicKey), to: dir + "/dev-vendor.pub.pem", overwrite: false, mode: 0o644)
        let start = UTC.startOfDay(now)
        let terms = LicenseTerms(
            licenseID: "lic_dev_" + UTC.formatDay(now).replacingOccurrences(of: "-", with: ""), licensee: "Gatehouse Dev",
            issuedAt: start, startsAt: start, expiresAt: start.addingTimeInterval(365 * 86_400), seats: 50,
            seatPriceCents: 100_000, currency: "USD", instanceURL: instanceURL, graceDays: 14, supersedes: nil)
        guard case .success(let file) = LicenseVerifier.sign(terms, key: key, kid: kid) else {
            throw GatehouseError(.devSetupFailed, "cannot sign the dev license")
        }
        let licensePath = dir + "/dev.lic"
        try FileOutput.write(file.armored, to: licensePath, overwrite: false, mode: 0o644)

        var config = GatehouseConfiguration()
        config.instanceURL = instanceURL
        config.database = "sqlite:" + dir + "/gatehouse.db"
        config.listenHost = listenHost
        config.listenPort = listenPort
        config.publicKeys = [kid: VendorKey.pem(key.publicKey)]
        config.source = "--dev"
        config.policies = policies
        config.gate =
            gate
            ?? PublicOrigin("http://\(listenHost.contains(":") ? "[\(listenHost)]" : listenHost):\(listenPort)").map {
                GateConfiguration(origin: $0)
            }

        let gatehouse = try await Gatehouse.open(config, create: true)
        let actor = "system"
        _ = try await gatehouse.migrate(actor: actor)
        _ = try await gatehouse.installLicense(text: file.armored, actor: actor)
        let authorize = try await gatehouse.createToken(name: "dev-authorize", scope: .authorize, actor: actor)
        let admin = try await gatehouse.createToken(name: "dev-admin", scope: .admin, actor: actor)
        let scim = try await gatehouse.createToken(name: "dev-scim", scope: .scim, actor: actor)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: policies, isDirectory: &isDirectory), isDirectory.boolValue {
            _ = try await gatehouse.applyPolicies(directory: policies, actor: actor)
        }
        // The console is one click away: its first administrator, by a one-time link. When the
        // policies name no administrator, a copy of them names a dev one.
        var admins = try await gatehouse.policyInEffect().login.admins.map(\.description).sorted()
        if admins.isEmpty {
            let copy = dir + "/policies"
            try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
            for file in (try? FileManager.default.contentsOfDirectory(atPath: policies)) ?? [] where file.hasSuffix(".yml") && file != "login.yml" {
                try FileManager.default.copyItem(atPath: policies + "/" + file, toPath: copy + "/" + file)
            }
            try FileOutput.write(
                "# The dev server's copy: an administrator for the console.\nlogin:\n  admins: [\"github:dev-admin\"]\n", to: copy + "/login.yml",
                overwrite: true, mode: 0o644)
            _ = try await gatehouse.applyPolicies(directory: copy, actor: actor)
            admins = ["github:dev-admin"]
        }
        var link: String?
        if config.gate != nil, let first = admins.first {
            link = try await gatehouse.consoleSignInLink(user: first, actor: actor).url
        }
        return DevEnvironment(
            directory: dir, configuration: config, licensePath: licensePath, authorizeToken: authorize.secret, adminToken: admin.secret,
            scimToken: scim.secret, consoleLink: link, consoleAdmin: admins.first)
    }

    /// Deletes the throwaway directory.
    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
