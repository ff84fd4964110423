/// Why a destination could not even be judged (a malformed host or URL): refused as
/// `destination_not_allowed`, with this detail.
public enum EgressRefusal: Error, Equatable, Sendable {
    case invalidHost(String)

    public var message: String {
        switch self {
        case .invalidHost(let text): return text
        }
    }
}

/// A host rule: an exact name, or `*.suffix` — every subdomain of the suffix, never the apex.
public struct HostPattern: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let subdomainsOnly: Bool

    public var description: String { subdomainsOnly ? "*." + name : name }

    /// Parses a rule host; every mistake has a message (`*`, `a*.b`, `*.*.x`, an IP address).
    public static func parse(_ text: String) -> Result<HostPattern, EgressRefusal> {
        var rest = Substring(text)
        var wildcard = false
        if rest.hasPrefix("*.") {
            wildcard = true
            rest = rest.dropFirst(2)
        }
        guard !rest.contains("*") else {
            return .failure(.invalidHost("\"\(text)\": a wildcard may only be a whole first label, as in *.example.com"))
        }
        guard !rest.isEmpty else { return .failure(.invalidHost("\"\(text)\": a wildcard needs a domain, as in *.example.com")) }
        switch EgressHost.normalise(String(rest)) {
        case .failure(let refusal): return .failure(.invalidHost("\"\(text)\": \(refusal.message)"))
        case .success(.ip): return .failure(.invalidHost("\"\(text)\": an IP address belongs in allow_cidrs, not in a host rule"))
        case .success(.name(let name)):
            if wildcard, !name.contains(".") { return .failure(.invalidHost("\"\(text)\": *.\(name) would match a whole top-level domain")) }
            return .success(HostPattern(name: name, subdomainsOnly: wildcard))
        }
    }

    public func matches(_ host: String) -> Bool {
        subdomainsOnly ? host.utf8.count > name.utf8.count + 1 && host.hasSuffix("." + name) : host == name
    }
}

/// An IPv4 or IPv6 network (`10.20.0.0/16`, `fd00:1::/64`).
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let bits: Int

    public var description: String { "\(address)/\(bits)" }

    public static func parse(_ text: String) -> CIDR? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return nil }
        let address: IPAddress?
        if parts[0].contains(":") { address = IPAddress.parseV6(String(parts[0])) } else {
            // Only the plain dotted quad in configuration: no surprises in what is allowed.
            let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
            address = octets.count == 4 && octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }) ? IPAddress.parseV4(String(parts[0])) : nil
        }
        guard let address else { return nil }
        let maxBits = if case .v4 = address { 32 } else { 128 }
        let bits = parts.count == 2 ? Int(parts[1]) : maxBits
        guard let bits, (0...maxBits).contains(bits) else { return nil }
        return CIDR(address: address, bits: bits)
    }

    public func contains(_ other: IPAddress) -> Bool {
        switch (address, other) {
        case (.v4(let a), .v4(let b)):
            return bits == 0 || a >> (32 - bits) == b >> (32 - bits)
        case (.v6(let ah, let al), .v6(let bh, let bl)):
            if bits == 0 { return true }
            if bits <= 64 { return ah >> (64 - bits) == bh >> (64 - bits) }
            return ah == bh && (bits == 128 ? al == bl : al >> (128 - bits) == bl >> (128 - bits))
        case (.v4, .v6):
            // An IPv4 network also covers the IPv6 spellings of its addresses (mapped, NAT64…).
            return other.embeddedV4.contains { contains(.v4($0)) }
        default:
            return false
        }
    }
}

/// A named rule: these hosts, on these ports.
public struct EgressRule: Sendable, Equatable {
    public var name: String
    public var hosts: [HostPattern]
    public var ports: Set<Int>

    public init(name: String, hosts: [HostPattern], ports: Set<Int>) {
        self.name = name
        self.hosts = hosts
        self.ports = ports
    }
}

/// `policies/egress.yml`.
public struct EgressPolicy: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Refuse what no rule allows.
        case enforce
        /// Allow everything, but count and log what `enforce` would refuse.
        case report
        /// Allow everything.
        case open
    }

    public var mode = Mode.enforce
    public var denyPrivateNetworks = true
    public var allowCIDRs: [CIDR] = []
    public var rules: [EgressRule] = []
    /// Other callers, other rules: the first role whose `sources` hold the proxy client's
    /// address applies instead of the top-level mode, networks and rules.
    public var roles: [EgressRole] = []

    public init() {}

    /// The policy for a proxy client at `source`: its role's, or the top-level one.
    public func forSource(_ source: IPAddress?) -> (policy: EgressPolicy, role: String?) {
        guard let source, let role = roles.first(where: { $0.sources.contains { $0.contains(source) } }) else { return (self, nil) }
        return (role.policy, role.name)
    }

    /// The policy of the role called `name`, if there is one.
    public func forRole(_ name: String) -> EgressPolicy? { roles.first { $0.name == name }?.policy }

    /// The rules of the shipped `policies/egress.yml` (a test keeps the two equal): common
    /// notification services and git providers, on 443 only.
    public static let shipped: EgressPolicy = {
        var policy = EgressPolicy()
        let rules: [(String, [String])] = [
            ("slack", ["hooks.slack.com"]), ("discord", ["discord.com", "discordapp.com"]),
            ("msteams", ["*.webhook.office.com", "outlook.office.com"]), ("github", ["github.com", "api.github.com", "*.githubusercontent.com"]),
            ("gitlab", ["gitlab.com"]), ("bitbucket", ["bitbucket.org", "api.bitbucket.org"]),
        ]
        policy.rules = rules.map { name, hosts in
            EgressRule(name: name, hosts: hosts.compactMap { try? HostPattern.parse($0).get() }, ports: [443])
        }
        return policy
    }()

    func allowedByCIDR(_ address: IPAddress) -> Bool { allowCIDRs.contains { $0.contains(address) } }
}

/// A named set of callers (by source network) with rules of their own, in the spirit of
/// Smokescreen's roles.
public struct EgressRole: Sendable, Equatable {
    public var name: String
    public var sources: [CIDR]
    /// Mode, networks and rules for this role (its own `roles` are always empty).
    public var policy: EgressPolicy

    public init(name: String, sources: [CIDR], policy: EgressPolicy) {
        self.name = name
        self.sources = sources
        self.policy = policy
    }
}

/// The verdict on one destination, with the rule that allowed it or the reason it was refused.
public struct EgressVerdict: Sendable, Equatable {
    public var allow: Bool
    public var reason: DecisionReason
    public var rule: String?
    /// For people: what exactly was refused.
    public var detail: String

    public static func allow(rule: String, _ detail: String = "") -> EgressVerdict { EgressVerdict(allow: true, reason: .ok, rule: rule, detail: detail) }
    public static func deny(_ reason: DecisionReason, _ detail: String) -> EgressVerdict { EgressVerdict(allow: false, reason: reason, rule: nil, detail: detail) }
}

/// The egress rules (SPEC sections 3 and 7), pure: the caller resolves names and passes the
/// addresses it will connect to.
public enum EgressDecider {
    /// May a connection to `host:port` leave, before any name is resolved?
    public static func decide(host: EgressHost, port: Int, policy: EgressPolicy) -> EgressVerdict {
        switch host {
        case .ip(let address):
            if policy.allowedByCIDR(address) { return .allow(rule: "allow_cidrs") }
            return .deny(.ipLiteralNotAllowed, "\(address) is an IP address; only names allowed by a rule, or networks in allow_cidrs, may be reached")
        case .name(let name):
            let matching = policy.rules.filter { rule in rule.hosts.contains { $0.matches(name) } }
            guard !matching.isEmpty else { return .deny(.destinationNotAllowed, "no rule allows \(name)") }
            guard let rule = matching.first(where: { $0.ports.contains(port) }) else {
                return .deny(.portNotAllowed, "\(name) is allowed (\(matching[0].name)) but not on port \(port)")
            }
            return .allow(rule: rule.name)
        }
    }

    /// Checks every address a name resolved to: each must be public (or in `allow_cidrs`), or
    /// nothing is. Returns the refusal, if any.
    public static func check(addresses: [IPAddress], for name: String, policy: EgressPolicy) -> EgressVerdict? {
        guard !addresses.isEmpty else { return .deny(.destinationNotAllowed, "\(name) does not resolve") }
        guard policy.denyPrivateNetworks else { return nil }
        for address in addresses where !address.classification.isPublic && !policy.allowedByCIDR(address) {
            return .deny(.resolvesToPrivateAddress, "\(name) resolves to \(address) (\(address.classification.rawValue))")
        }
        return nil
    }
}
