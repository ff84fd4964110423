import GatehouseDomain
import Yams

extension PolicyLoader {
    /// `egress:` — mode, deny_private_networks, allow_cidrs and named rules, every mistake
    /// reported with its line (a bad glob, a duplicate rule name, a port out of range).
    static func parseEgress(_ node: Node, _ reader: inout YAMLReader) -> EgressPolicy {
        var egress = EgressPolicy()
        egress.rules = []
        let fields = reader.mapping(node, "egress", allowed: ["mode", "deny_private_networks", "allow_cidrs", "rules"])
        if let text = reader.string(fields["mode"], "egress.mode") {
            if let mode = EgressPolicy.Mode(rawValue: text) { egress.mode = mode } else {
                reader.problem(fields["mode"], "egress.mode", "\"\(text)\" is not enforce, report or open")
            }
        }
        if let v = reader.bool(fields["deny_private_networks"], "egress.deny_private_networks") { egress.denyPrivateNetworks = v }
        for item in reader.sequence(fields["allow_cidrs"], "egress.allow_cidrs") {
            guard let text = reader.string(item, "egress.allow_cidrs") else { continue }
            if let cidr = CIDR.parse(text) { egress.allowCIDRs.append(cidr) } else {
                reader.problem(item, "egress.allow_cidrs", "\"\(text)\" is not a network such as 10.20.0.0/16 or fd00:1::/64")
            }
        }
        var names = Set<String>()
        for (i, item) in reader.sequence(fields["rules"], "egress.rules").enumerated() {
            let path = "egress.rules[\(i)]"
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
            egress.rules.append(EgressRule(name: name, hosts: hosts, ports: ports))
        }
        return egress
    }
}
