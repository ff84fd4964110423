import GatehouseDomain
import Yams

extension PolicyLoader {
    /// `policies/gate.yml`: the route classes of the gate, first match wins, anything
    /// unmatched is `app`; and the names of Codecov's own session cookies.
    static func parseGate(_ node: Node, _ reader: inout YAMLReader) -> GatePolicy {
        let fields = reader.mapping(node, "gate", allowed: ["routes", "codecov_session_cookies"])
        var policy = GatePolicy.shipped
        if fields["routes"] != nil {
            policy.routes = []
            for (i, item) in reader.sequence(fields["routes"], "gate.routes").enumerated() {
                let path = "gate.routes[\(i)]"
                let rule = reader.mapping(item, path, allowed: ["class", "paths"])
                guard let name = reader.string(rule["class"], "\(path).class") else {
                    reader.problem(item, path, "class is required: public, upload, signin or app")
                    continue
                }
                guard let routeClass = RouteClass(rawValue: name) else {
                    reader.problem(rule["class"], "\(path).class", "\"\(name)\" is not one of public, upload, signin, app")
                    continue
                }
                var patterns: [PathPattern] = []
                for entry in reader.sequence(rule["paths"], "\(path).paths") {
                    guard let text = reader.string(entry, "\(path).paths") else { continue }
                    guard let pattern = PathPattern(text) else {
                        reader.problem(
                            entry, "\(path).paths",
                            "\"\(text)\" is not a path pattern: it starts with / and uses * (one segment) or ** (any)")
                        continue
                    }
                    patterns.append(pattern)
                }
                if patterns.isEmpty { reader.problem(item, path, "paths is required: at least one path pattern") }
                policy.routes.append(RouteRule(routeClass, patterns))
            }
        }
        if fields["codecov_session_cookies"] != nil {
            policy.codecovSessionCookies = Set(
                reader.sequence(fields["codecov_session_cookies"], "gate.codecov_session_cookies").compactMap {
                    reader.string($0, "gate.codecov_session_cookies")
                })
        }
        return policy
    }
}

extension GatePolicy {
    /// The route policy as JSON (part of `policy show`).
    public var json: JSONValue {
        [
            "routes": .array(
                routes.map { ["class": .string($0.routeClass.rawValue), "paths": .array($0.patterns.map { .string($0.text) })] }),
            "codecov_session_cookies": .array(codecovSessionCookies.sorted().map(JSONValue.string)),
        ]
    }
}
