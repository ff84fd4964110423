import GatehouseDomain
import GatehouseStorage

/// `POST /v1/authorize/login` body, validated.
public struct LoginRequest: Sendable, Equatable {
    public var identity: IdentityRef
    public var externalID: String?
    public var email: String?
    public var orgs: Set<String>
    public var teams: Set<String>
    /// Groups (an OIDC groups claim), read by the gate's sign-in.
    public var groups: Set<String>
    /// Whether the memberships were read from the provider by the gate's sign-in (verified,
    /// source `signin`) rather than claimed by the caller (source `request`).
    public var verified: Bool

    public init(
        identity: IdentityRef, externalID: String? = nil, email: String? = nil, orgs: Set<String> = [], teams: Set<String> = [],
        groups: Set<String> = [], verified: Bool = false
    ) {
        self.identity = identity
        self.externalID = externalID
        self.email = email
        self.orgs = orgs.lowercasedNames
        self.teams = teams.lowercasedNames
        self.groups = groups.lowercasedNames
        self.verified = verified
    }

    /// Where these memberships are recorded.
    var claimsSource: MembershipSource { verified ? .signin : .request }

    /// The memberships to record for an identity.
    func claims(identityID: Int64?) -> MembershipClaims {
        MembershipClaims(identityID: identityID, orgs: orgs, teams: teams, groups: groups, source: claimsSource)
    }

    /// Reads and checks a request body; every problem is named.
    public static func parse(_ body: JSONValue) throws(GatehouseError) -> LoginRequest {
        var reader = RequestReader(body)
        let identity = reader.identity()
        let externalID = reader.externalID("external_id")
        let email = reader.optionalString("email", maxLength: 320)
        let orgs = reader.names("orgs", team: false)
        let teams = reader.names("teams", team: true)
        reader.rejectUnknown(["provider", "username", "external_id", "email", "orgs", "teams"])
        guard let identity, reader.problems.isEmpty else { throw reader.error }
        return LoginRequest(identity: identity, externalID: externalID, email: email, orgs: orgs, teams: teams)
    }
}

extension LoginRequest {
    /// The body read straight from its bytes when it has the plain shape clients send (see
    /// `PlainJSONReader`) and passes every check; `nil` otherwise, and `parse` then reads it
    /// whole and names what is wrong. Never a different answer from `parse`, only a faster one.
    public static func parsePlain(_ bytes: UnsafeRawBufferPointer) -> LoginRequest? {
        var reader = PlainJSONReader(bytes)
        var who = PlainIdentityFields()
        var email: String?, orgs: [String]?, teams: [String]?
        let read = reader.object { key, value in
            if let read = who.read(key, &value) {
                return read
            } else if key.spells("email"), email == nil {
                email = value.string()
                return email != nil
            } else if key.spells("orgs"), orgs == nil {
                orgs = value.strings(limit: 1000)
                return orgs != nil
            } else if key.spells("teams"), teams == nil {
                teams = value.strings(limit: 1000)
                return teams != nil
            }
            return false
        }
        guard read, reader.atEnd(), let identity = who.identity, who.externalIDFits,
            email.map({ PlainChecks.fits($0, 320) }) ?? true,
            orgs.map({ $0.allSatisfy { PlainChecks.fits($0, 255) } }) ?? true,
            teams.map({ $0.allSatisfy { PlainChecks.fits($0, 255) && RequestReader.isTeam($0) } }) ?? true
        else { return nil }
        return LoginRequest(
            identity: identity, externalID: who.externalID, email: email, orgs: Set(orgs ?? []), teams: Set(teams ?? []))
    }
}

extension UploadRequest {
    /// As `LoginRequest.parsePlain`: the plain shape read from its bytes, or `nil` for `parse`.
    public static func parsePlain(_ bytes: UnsafeRawBufferPointer) -> UploadRequest? {
        var reader = PlainJSONReader(bytes)
        var owner: String?, name: String?, isPrivate: Bool?
        var author = PlainIdentityFields()
        var sawRepository = false, sawAuthor = false
        let read = reader.object { key, value in
            if key.spells("repository"), !sawRepository {
                sawRepository = true
                return value.object { key, value in
                    if key.spells("owner"), owner == nil {
                        owner = value.string()
                        return owner != nil
                    } else if key.spells("name"), name == nil {
                        name = value.string()
                        return name != nil
                    } else if key.spells("private"), isPrivate == nil {
                        isPrivate = value.bool()
                        return isPrivate != nil
                    }
                    return false
                }
            } else if key.spells("author"), !sawAuthor {
                sawAuthor = true
                return value.object { key, value in author.read(key, &value) ?? false }
            }
            return false
        }
        guard read, reader.atEnd(), let owner, PlainChecks.fits(owner, 255), let name, PlainChecks.fits(name, 255), let isPrivate,
            let identity = author.identity, author.externalIDFits
        else { return nil }
        return UploadRequest(owner: owner, name: name, isPrivate: isPrivate, author: identity, authorExternalID: author.externalID)
    }
}

/// `provider`, `username` and `external_id`, as both bodies carry them (the login's at the
/// top, the upload's under `author`).
struct PlainIdentityFields {
    var provider: String?, username: String?, externalID: String?

    /// Reads the value of `key` when it names one of these fields: whether it was read (not
    /// seen before, and of the plain kind); `nil` when `key` is none of them.
    mutating func read(_ key: UnsafeRawBufferPointer, _ value: inout PlainJSONReader) -> Bool? {
        if key.spells("provider") {
            guard provider == nil else { return false }
            provider = value.string()
            return provider != nil
        } else if key.spells("username") {
            guard username == nil else { return false }
            username = value.string()
            return username != nil
        } else if key.spells("external_id") {
            guard externalID == nil else { return false }
            externalID = value.nextIsString() ? value.string() : value.integerDigits()
            return externalID != nil
        }
        return nil
    }

    var identity: IdentityRef? { PlainChecks.identity(provider, username) }
    var externalIDFits: Bool { externalID.map { !$0.isEmpty && $0.utf8.count <= 128 } ?? true }
}

/// `RequestReader`'s checks, for the plain (ASCII) strings `PlainJSONReader` returns, where a
/// character is a byte.
enum PlainChecks {
    static func fits(_ s: String, _ maxLength: Int) -> Bool { !s.isEmpty && s.utf8.count <= maxLength }

    static func identity(_ provider: String?, _ username: String?) -> IdentityRef? {
        guard let provider, fits(provider, 32), let username, fits(username, 255), let known = Provider(rawValue: provider),
            IdentityRef.usernameProblem(username, provider: known) == nil
        else { return nil }
        return IdentityRef(provider: known, username: username)
    }
}

/// `POST /v1/authorize/upload` body, validated.
public struct UploadRequest: Sendable, Equatable {
    public var owner: String
    public var name: String
    public var isPrivate: Bool
    public var author: IdentityRef
    public var authorExternalID: String?

    public init(owner: String, name: String, isPrivate: Bool, author: IdentityRef, authorExternalID: String? = nil) {
        self.owner = owner
        self.name = name
        self.isPrivate = isPrivate
        self.author = author
        self.authorExternalID = authorExternalID
    }

    public static func parse(_ body: JSONValue) throws(GatehouseError) -> UploadRequest {
        var top = RequestReader(body)
        top.rejectUnknown(["repository", "author"])
        var repository = RequestReader(top.object("repository"), path: "repository.")
        let owner = repository.string("owner", maxLength: 255)
        let name = repository.string("name", maxLength: 255)
        let isPrivate = repository.bool("private")
        repository.rejectUnknown(["owner", "name", "private"])
        var author = RequestReader(top.object("author"), path: "author.")
        let identity = author.identity()
        let externalID = author.externalID("external_id")
        author.rejectUnknown(["provider", "username", "external_id"])
        let problems = top.problems + repository.problems + author.problems
        guard problems.isEmpty, let owner, let name, let isPrivate, let identity else { throw RequestReader.error(problems) }
        return UploadRequest(owner: owner, name: name, isPrivate: isPrivate, author: identity, authorExternalID: externalID)
    }
}

/// Field-by-field reading of a JSON request body, collecting every problem.
struct RequestReader {
    let fields: [String: JSONValue]
    let path: String
    var problems: [String] = []
    let present: Bool

    init(_ value: JSONValue?, path: String = "") {
        self.path = path
        if case .object(let fields)? = value {
            self.fields = fields
            present = true
        } else {
            self.fields = [:]
            present = value != nil
            if value != nil { problems.append("\(path.isEmpty ? "body" : String(path.dropLast())) must be a JSON object") }
        }
    }

    static func error(_ problems: [String]) -> GatehouseError {
        GatehouseError(.invalidRequest, problems.joined(separator: "; "))
    }

    var error: GatehouseError { Self.error(problems) }

    mutating func string(_ key: String, maxLength: Int) -> String? {
        switch fields[key] {
        case .string(let s)? where !s.isEmpty && s.utf8.count <= maxLength * 4 && s.count <= maxLength: return s
        case .string?: problems.append("\(path)\(key) must be 1-\(maxLength) characters")
        case nil: problems.append("\(path)\(key) is required")
        case let other?: problems.append("\(path)\(key) must be a string, not \(other.typeName)")
        }
        return nil
    }

    mutating func optionalString(_ key: String, maxLength: Int) -> String? {
        if fields[key] == nil || fields[key] == .null { return nil }
        return string(key, maxLength: maxLength)
    }

    mutating func bool(_ key: String) -> Bool? {
        switch fields[key] {
        case .bool(let b)?: return b
        case nil: problems.append("\(path)\(key) is required")
        case let other?: problems.append("\(path)\(key) must be true or false, not \(other.typeName)")
        }
        return nil
    }

    mutating func object(_ key: String) -> JSONValue? {
        guard let value = fields[key] else {
            problems.append("\(path)\(key) is required")
            return nil
        }
        return value
    }

    /// Provider ids are strings; numeric ids are accepted and kept as their digits.
    mutating func externalID(_ key: String) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .int(let i)?: return String(i)
        case .string(let s)? where !s.isEmpty && s.utf8.count <= 128: return s
        case let other?:
            problems.append("\(path)\(key) must be a string or an integer, not \(other.typeName)")
            return nil
        }
    }

    mutating func identity() -> IdentityRef? {
        let providerName = string("provider", maxLength: 32)
        let username = string("username", maxLength: 255)
        guard let providerName, let username else { return nil }
        guard let provider = Provider(rawValue: providerName) else {
            problems.append("\(path)provider \"\(providerName)\" is not one of \(Provider.names)")
            return nil
        }
        if let problem = IdentityRef.usernameProblem(username, provider: provider) {
            problems.append("\(path)username \(problem)")
            return nil
        }
        return IdentityRef(provider: provider, username: username)
    }

    mutating func names(_ key: String, team: Bool) -> Set<String> {
        switch fields[key] {
        case nil, .null?: return []
        case .array(let items)?:
            guard items.count <= 1000 else {
                problems.append("\(path)\(key) has more than 1000 entries")
                return []
            }
            var result = Set<String>()
            for item in items {
                guard case .string(let s) = item, !s.isEmpty, s.utf8.count <= 255, !team || Self.isTeam(s) else {
                    problems.append("\(path)\(key) entries must be \(team ? "\"org/team\" strings" : "non-empty strings")")
                    return []
                }
                result.insert(s)  // lowercased once, by LoginRequest.init
            }
            return result
        case let other?:
            problems.append("\(path)\(key) must be an array, not \(other.typeName)")
            return []
        }
    }

    /// `org/team`: exactly one slash, with text on both sides.
    static func isTeam(_ s: String) -> Bool {
        let bytes = s.utf8
        guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else { return false }
        return slash != bytes.startIndex && bytes.index(after: slash) != bytes.endIndex
            && !bytes[bytes.index(after: slash)...].contains(UInt8(ascii: "/"))
    }

    mutating func rejectUnknown(_ known: Set<String>) {
        guard fields.keys.contains(where: { !known.contains($0) }) else { return }
        for key in fields.keys.sorted() where !known.contains(key) { problems.append("\(path)\(key) is not a known field") }
    }
}

/// `POST /v1/authorize/egress` `{"url"}`.
public struct EgressRequest: Sendable, Equatable {
    public var url: String
    /// A role of the egress policy whose rules apply instead of the top-level ones.
    public var role: String?

    public static func parse(_ body: JSONValue) throws(GatehouseError) -> EgressRequest {
        var top = RequestReader(body)
        top.rejectUnknown(["url", "role"])
        let url = top.string("url", maxLength: 8192)
        let role = top.optionalString("role", maxLength: 100)
        guard top.problems.isEmpty, let url else { throw RequestReader.error(top.problems) }
        return EgressRequest(url: url, role: role)
    }
}
