import GatehouseDomain
import Yams

extension PolicyLoader {
    /// `egress:` — mode, deny_private_networks, allow_cidrs, named rules and roles, every
    /// mistake reported with its line (a bad glob, a duplicate rule name, a port out of range).
    static func parseEgress(_ node: Node, _ reader: inout YAMLReader) -> EgressPolicy {
        let fields = reader.mapping(node, "egress", allowed: ["mode", "deny_private_networks", "allow_cidrs", "rules", "roles"])
        var egress = parseEgressSettings(fields, path: "egress", inheriting: EgressPolicy(), &reader)
        var names = Set<String>()
        for (i, item) in reader.sequence(fields["roles"], "egress.roles").enumerated() {
            let path = "egress.roles[\(i)]"
            let roleFields = reader.mapping(item, path, allowed: ["name", "sources", "mode", "deny_private_networks", "allow_cidrs", "rules"])
            guard let name = reader.string(roleFields["name"], "\(path).name"), !name.isEmpty else {
                reader.problem(item, path, "a role needs a name")
                continue
            }
            if !names.insert(name).inserted { reader.problem(roleFields["name"], "\(path).name", "role \"\(name)\" is defined twice") }
            let sources = parseCIDRs(roleFields["sources"], "\(path).sources", &reader)
            if sources.isEmpty { reader.problem(item, path, "role \"\(name)\" has no sources (the proxy clients it is for, e.g. [\"10.30.0.0/16\"])") }
            let policy = parseEgressSettings(roleFields, path: path, inheriting: egress, &reader)
            egress.roles.append(EgressRole(name: name, sources: sources, policy: policy))
        }
        return egress
    }

    /// Mode, networks and rules at `path`; what is not given is taken from `inheriting`
    /// (rules excepted: a role without rules allows no names).
    private static func parseEgressSettings(_ fields: [String: Node], path: String, inheriting base: EgressPolicy, _ reader: inout YAMLReader) -> EgressPolicy {
        var egress = EgressPolicy()
        egress.mode = base.mode
        egress.denyPrivateNetworks = base.denyPrivateNetworks
        egress.allowCIDRs = base.allowCIDRs
        if let text = reader.string(fields["mode"], "\(path).mode") {
            if let mode = EgressPolicy.Mode(rawValue: text) { egress.mode = mode } else {
                reader.problem(fields["mode"], "\(path).mode", "\"\(text)\" is not enforce, report or open")
            }
        }
        if let v = reader.bool(fields["deny_private_networks"], "\(path).deny_private_networks") { egress.denyPrivateNetworks = v }
        if fields["allow_cidrs"] != nil { egress.allowCIDRs = parseCIDRs(fields["allow_cidrs"], "\(path).allow_cidrs", &reader) }
        egress.rules = parseRules(fields["rules"], path: "\(path).rules", &reader)
        return egress
    }

    private static func parseCIDRs(_ node: Node?, _ path: String, _ reader: inout YAMLReader) -> [CIDR] {
        var networks: [CIDR] = []
        for item in reader.sequence(node, path) {
            guard let text = reader.string(item, path) else { continue }
            if let cidr = CIDR.parse(text) { networks.append(cidr) } else {
                reader.problem(item, path, "\"\(text)\" is not a network such as 10.20.0.0/16 or fd00:1::/64")
            }
        }
        return networks
    }

    private static func parseRules(_ node: Node?, path rulesPath: String, _ reader: inout YAMLReader) -> [EgressRule] {
        var rules: [EgressRule] = []
        var names = Set<String>()
        for (i, item) in reader.sequence(node, rulesPath).enumerated() {
            let path = "\(rulesPath)[\(i)]"
            let rule = reader.mapping(item, path, allowed: ["name", "hosts", "ports"])
            guard let name = reader.string(rule["name"], "\(path).name"), !name.isEmpty else {
                reader.problem(item, path, "a rule needs a name")
                continue
            }
            if !names.insert(name).inserted { reader.problem(rule["name"], "\(path).name", "rule \"\(name)\" is defined twice") }
            var hosts: [HostPattern] = []
            for host in reader.sequence(rule["hosts"], "\(path).hosts") {
                guard let text = reader.string(host, "\(path).hosts") else { continue }
                switch HostPattern.parse(text) {
                case .success(let pattern): hosts.append(pattern)
                case .failure(let refusal): reader.problem(host, "\(path).hosts", refusal.message)
                }
            }
            if hosts.isEmpty { reader.problem(item, path, "rule \"\(name)\" has no hosts") }
            var ports = Set<Int>()
            for port in reader.sequence(rule["ports"], "\(path).ports") {
                if let value = reader.integer(port, "\(path).ports", in: 1...65535) { ports.insert(value) }
            }
            if ports.isEmpty { reader.problem(item, path, "rule \"\(name)\" has no ports (e.g. ports: [443])") }
            rules.append(EgressRule(name: name, hosts: hosts, ports: ports))
        }
        return rules
    }
}
