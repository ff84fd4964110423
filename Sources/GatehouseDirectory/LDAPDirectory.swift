import Foundation
import GatehouseDomain
import Synchronization

/// Progress of a directory read, for the operator watching a long first sync.
public struct DirectoryProgress: Sendable {
    public var people: Int
    public var groups: Int
}

/// What `gatehouse ldap test` reports: that the directory answers, how fast, and how much is there.
public struct DirectoryProbe: Sendable {
    public var bindSeconds: Double
    public var people: Int
    public var peopleSeconds: Double
    public var groups: Int
    public var groupsSeconds: Double
}

/// The company directory as Gatehouse reads it. Injected into the service, so that what is
/// read and what is done with it stay separate.
public protocol DirectoryClient: Sendable {
    /// Reads every person and group (paged), with groups resolved.
    func read(progress: @escaping @Sendable (DirectoryProgress) -> Void) async throws -> DirectoryListing
    /// Binds and counts people and groups, timing each step.
    func probe() async throws -> DirectoryProbe
    /// The people whose username is exactly `uid` (the value is escaped: `*` matches a star).
    func people(uid: String) async throws -> [DirectoryPerson]
}

/// The directory client over OpenLDAP's libldap.
public struct LDAPDirectory: DirectoryClient {
    public let config: DirectoryConfiguration

    public init(_ config: DirectoryConfiguration) { self.config = config }

    var personAttributes: [String] {
        Array(Set([config.usernameAttribute, config.emailAttribute, config.nameAttribute, "entryUUID"])).sorted()
    }
    var groupAttributes: [String] { Array(Set(["cn", "member", "uniqueMember", "memberUid", config.memberAttribute])).sorted() }

    func connect() throws(DirectoryError) -> LDAPConnection {
        let connection = try LDAPConnection(config)
        try connection.bind(dn: config.bindDN, password: config.currentBindPassword())
        return connection
    }

    /// People and groups are read at once, over two connections: the directory server works
    /// on both searches side by side.
    public func read(progress: @escaping @Sendable (DirectoryProgress) -> Void) async throws -> DirectoryListing {
        let counts = LockedCounts()
        async let groupRead = readGroups { count in progress(counts.groups(count)) }
        let (people, warnings) = try await Blocking.run("ldap-people") { [self] in
            let connection = try connect()
            var people: [DirectoryPerson] = []
            var warnings: [String] = []
            try connection.search(base: config.userBase, filter: config.userFilter, attributes: personAttributes, pageSize: config.pageSize) { page in
                for entry in page {
                    if let person = person(entry, warnings: &warnings) { people.append(person) }
                }
                progress(counts.people(people.count))
            }
            return (people, warnings)
        }
        let (groups, groupWarnings) = try await groupRead
        return DirectoryListing(people: people, groups: groups, warnings: warnings + groupWarnings)
    }

    func readGroups(progress: @escaping @Sendable (Int) -> Void) async throws -> ([DirectoryGroup], [String]) {
        guard let base = config.groupBase else { return ([], []) }
        return try await Blocking.run("ldap-groups") { [self] in
            let connection = try connect()
            var groups: [DirectoryGroup] = []
            var warnings: [String] = []
            try connection.search(base: base, filter: config.groupFilter, attributes: groupAttributes, pageSize: config.pageSize) { page in
                for entry in page {
                    guard let cn = entry.first("cn") else {
                        warnings.append("group \(entry.dn) has no cn; skipped")
                        continue
                    }
                    let dns = entry.all("member") + entry.all("uniqueMember")
                        + (["member", "uniquemember"].contains(config.memberAttribute.lowercased()) ? [] : entry.all(config.memberAttribute))
                    groups.append(DirectoryGroup(dn: entry.dn, name: cn, memberDNs: dns, memberUIDs: entry.all("memberUid")))
                }
                progress(groups.count)
            }
            return (groups, warnings)
        }
    }

    func person(_ entry: LDAPEntry, warnings: inout [String]) -> DirectoryPerson? {
        if !entry.invalidAttributes.isEmpty {
            warnings.append("\(entry.dn): \(entry.invalidAttributes.joined(separator: ", ")) not UTF-8; those values ignored")
        }
        guard let uid = entry.first(config.usernameAttribute) else {
            warnings.append("\(entry.dn) has no \(config.usernameAttribute); skipped")
            return nil
        }
        let email = entry.first(config.emailAttribute).flatMap { $0.isEmpty ? nil : $0 }
        return DirectoryPerson(
            dn: entry.dn, uid: uid, email: email, name: entry.first(config.nameAttribute) ?? uid, externalID: entry.first("entryUUID"))
    }

    public func probe() async throws -> DirectoryProbe {
        try await Blocking.run("ldap-test") { [self] in
            let clock = ContinuousClock()
            var connection: LDAPConnection?
            let bind = try clock.measure { connection = try connect() }
            var people = 0, groups = 0
            let peopleTime = try clock.measure {
                try connection!.search(base: config.userBase, filter: config.userFilter, attributes: ["1.1"], pageSize: config.pageSize) {
                    people += $0.count
                }
            }
            var groupsTime = Duration.zero
            if let base = config.groupBase {
                groupsTime = try clock.measure {
                    try connection!.search(base: base, filter: config.groupFilter, attributes: ["1.1"], pageSize: config.pageSize) { groups += $0.count }
                }
            }
            return DirectoryProbe(
                bindSeconds: bind.seconds, people: people, peopleSeconds: peopleTime.seconds, groups: groups, groupsSeconds: groupsTime.seconds)
        }
    }

    public func people(uid: String) async throws -> [DirectoryPerson] {
        try await Blocking.run("ldap-lookup") { [self] in
            let connection = try connect()
            var found: [DirectoryPerson] = []
            var warnings: [String] = []
            let filter = LDAPFilter.and(config.userFilter, LDAPFilter.equals(config.usernameAttribute, uid))
            try connection.search(base: config.userBase, filter: filter, attributes: personAttributes, pageSize: config.pageSize) { page in
                found += page.compactMap { person($0, warnings: &warnings) }
            }
            return found
        }
    }
}

/// People and groups read so far, from the two reading threads.
final class LockedCounts: Sendable {
    private let state = Mutex((people: 0, groups: 0))

    func people(_ n: Int) -> DirectoryProgress {
        state.withLock { $0.people = n; return DirectoryProgress(people: $0.people, groups: $0.groups) }
    }

    func groups(_ n: Int) -> DirectoryProgress {
        state.withLock { $0.groups = n; return DirectoryProgress(people: $0.people, groups: $0.groups) }
    }
}
