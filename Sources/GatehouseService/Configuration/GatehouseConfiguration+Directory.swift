import Foundation
import GatehouseDirectory
import Yams

extension GatehouseConfiguration {
    static let ldapKeys: Set<String> = [
        "url", "start_tls", "ca_file", "bind_dn", "bind_password_file", "user_base", "user_filter", "username_attribute", "email_attribute",
        "name_attribute", "group_base", "group_filter", "member_attribute", "page_size", "sync_interval", "timeout", "max_removal_percent",
    ]

    /// Reads the `ldap:` section (SPEC section 7). The bind password comes from a file, never
    /// from the YAML itself, so that the configuration can be shared and checked in.
    mutating func applyDirectory(_ node: Node?, reader: inout YAMLReader, file: String) {
        guard node != nil else { return }
        let fields = reader.mapping(node, "ldap", allowed: Self.ldapKeys)
        guard !fields.isEmpty else { return }
        let url = reader.string(fields["url"], "ldap.url")
        let base = reader.string(fields["user_base"], "ldap.user_base")
        guard let url, let base else {
            reader.problem(node, "ldap", "url and user_base are required")
            return
        }
        var d = DirectoryConfiguration(url: url, userBase: base)
        if let v = reader.bool(fields["start_tls"], "ldap.start_tls") { d.startTLS = v }
        if let v = reader.string(fields["ca_file"], "ldap.ca_file") { d.caFile = Self.resolve(v, relativeTo: file) }
        if let v = reader.string(fields["bind_dn"], "ldap.bind_dn") { d.bindDN = v }
        if let v = reader.string(fields["bind_password_file"], "ldap.bind_password_file") {
            let path = Self.resolve(v, relativeTo: file)
            if let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) {
                d.bindPassword = text.trimmingCharacters(in: .newlines)
                d.bindPasswordFile = path
            } else {
                reader.problem(fields["bind_password_file"], "ldap.bind_password_file", "cannot read \(path)")
            }
        }
        if let v = reader.string(fields["user_filter"], "ldap.user_filter") { d.userFilter = v }
        if let v = reader.string(fields["username_attribute"], "ldap.username_attribute") { d.usernameAttribute = v }
        if let v = reader.string(fields["email_attribute"], "ldap.email_attribute") { d.emailAttribute = v }
        if let v = reader.string(fields["name_attribute"], "ldap.name_attribute") { d.nameAttribute = v }
        if let v = reader.string(fields["group_base"], "ldap.group_base") { d.groupBase = v }
        if let v = reader.string(fields["group_filter"], "ldap.group_filter") { d.groupFilter = v }
        if let v = reader.string(fields["member_attribute"], "ldap.member_attribute") { d.memberAttribute = v }
        if let v = reader.integer(fields["page_size"], "ldap.page_size", in: 0...100_000) { d.pageSize = v }
        if let v = reader.integer(fields["max_removal_percent"], "ldap.max_removal_percent", in: 0...100) { d.maxRemovalPercent = v }
        for (key, path) in [("sync_interval", \DirectoryConfiguration.syncInterval), ("timeout", \DirectoryConfiguration.timeout)] {
            if let seconds = Self.duration(fields[key], "ldap.\(key)", reader: &reader) { d[keyPath: path] = seconds }
        }
        directory = d
    }

    /// Environment overrides for the directory; the password only ever from the environment
    /// or a file.
    mutating func applyDirectory(environment env: [String: String]) {
        if let url = env["GATEHOUSE_LDAP_URL"], !url.isEmpty {
            if directory == nil { directory = DirectoryConfiguration(url: url, userBase: env["GATEHOUSE_LDAP_USER_BASE"] ?? "") }
            directory?.url = url
        }
        if let base = env["GATEHOUSE_LDAP_USER_BASE"], !base.isEmpty { directory?.userBase = base }
        if let dn = env["GATEHOUSE_LDAP_BIND_DN"], !dn.isEmpty { directory?.bindDN = dn }
        if let password = env["GATEHOUSE_LDAP_BIND_PASSWORD"], !password.isEmpty {
            directory?.bindPassword = password
            directory?.bindPasswordFile = nil
        }
    }

    /// A duration setting (`30s`, `15m`, `1h`, `250ms`, or seconds), or a problem.
    static func duration(_ node: Node?, _ path: String, reader: inout YAMLReader) -> TimeInterval? {
        guard let text = reader.string(node, path) else { return nil }
        guard let seconds = duration(text) else {
            reader.problem(node, path, "expected a duration such as 30s, 15m or 1h, got \"\(text)\"")
            return nil
        }
        return seconds
    }

    /// `30s`, `15m`, `1h`, `7d`, `250ms`, or plain seconds.
    static func duration(_ text: String) -> TimeInterval? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let n = Double(t.dropLast(suffix.count)), n.isFinite, n >= 0 else { return nil }
            return n * scale
        }
        guard let n = Double(t), n.isFinite, n >= 0 else { return nil }
        return n
    }
}
