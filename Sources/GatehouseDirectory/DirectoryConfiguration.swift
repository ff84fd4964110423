import Foundation
import GatehouseDomain

/// How to reach and read the company directory (`gatehouse.yml` `ldap:`, SPEC section 7).
public struct DirectoryConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    public var url: String
    /// Upgrade an `ldap://` connection with StartTLS (and refuse to continue without it).
    public var startTLS = false
    /// CA certificates that the server's certificate must chain to (PEM).
    public var caFile: String?
    /// Simple bind; anonymous when absent.
    public var bindDN: String?
    /// Never printed (see `description`).
    public var bindPassword: String?
    /// Where the password is kept (`bind_password_file`): read again at every connection, so
    /// a rotated password is picked up by the next sync without a restart.
    public var bindPasswordFile: String?
    public var userBase: String
    public var userFilter = "(objectClass=inetOrgPerson)"
    public var usernameAttribute = "uid"
    public var emailAttribute = "mail"
    public var nameAttribute = "cn"
    public var groupBase: String?
    public var groupFilter = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))"
    /// DN-valued member attribute besides `member`/`uniqueMember` (posixGroup's `memberUid` is read too).
    public var memberAttribute = "member"
    /// Entries per page (RFC 2696); 0 reads without paging (and stops at the server's size limit).
    public var pageSize = 500
    /// Seconds between periodic syncs.
    public var syncInterval: TimeInterval = 900
    /// Seconds allowed for connecting and for each operation.
    public var timeout: TimeInterval = 10
    /// A sync that would remove a larger share of directory people is refused unless forced.
    public var maxRemovalPercent = 10

    public init(url: String, userBase: String) {
        self.url = url
        self.userBase = userBase
    }

    /// Without the password.
    public var description: String {
        "\(url)\(startTLS ? " (StartTLS)" : "") as \(bindDN ?? "anonymous"), people under \(userBase)"
    }

    /// The password to bind with now: the file's current contents (without its trailing
    /// newline) when there is one, else the password given at start.
    public func currentBindPassword() throws(DirectoryError) -> String? {
        guard let path = bindPasswordFile else { return bindPassword }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw DirectoryError(.bindFailed, "cannot read ldap.bind_password_file \(path)")
        }
        let password = text.trimmingCharacters(in: .newlines)
        guard !password.isEmpty else { throw DirectoryError(.bindFailed, "ldap.bind_password_file \(path) is empty") }
        return password
    }

    /// Every problem with these settings, for one startup message.
    public func problems() -> [String] {
        var problems: [String] = []
        let lower = url.lowercased()
        if !(lower.hasPrefix("ldap://") || lower.hasPrefix("ldaps://")) || URL(string: url)?.host == nil {
            problems.append("ldap.url: expected ldap://host[:port] or ldaps://host[:port], got \"\(url)\"")
        }
        if startTLS, lower.hasPrefix("ldaps://") { problems.append("ldap.start_tls: not with ldaps:// (already TLS)") }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) { problems.append("ldap.ca_file: cannot read \(caFile)") }
        if bindDN != nil, (bindPassword ?? "").isEmpty {
            problems.append("ldap.bind_password_file (or GATEHOUSE_LDAP_BIND_PASSWORD): a password is needed with bind_dn")
        }
        if userBase.isEmpty { problems.append("ldap.user_base: required") }
        for (key, filter) in [("user_filter", userFilter), ("group_filter", groupFilter)] {
            if let problem = LDAPFilter.problem(in: filter) { problems.append("ldap.\(key): \(problem)") }
        }
        if !(0...100_000).contains(pageSize) { problems.append("ldap.page_size: expected 0 to 100000") }
        if syncInterval < 60 { problems.append("ldap.sync_interval: at least 1m") }
        if !(1...600).contains(timeout) { problems.append("ldap.timeout: expected 1s to 10m") }
        if !(0...100).contains(maxRemovalPercent) { problems.append("ldap.max_removal_percent: expected 0 to 100") }
        return problems
    }
}
