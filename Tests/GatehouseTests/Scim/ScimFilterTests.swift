import Foundation
import GatehouseDomain
import Testing

/// The filter grammar and PATCH rules on their own (pure functions, no server).
@Suite("SCIM filters and PATCH")
struct ScimFilterTests {
    static let ada: JSONValue = [
        "id": "u1", "userName": "Ada", "active": true, "title": "Countess",
        "emails": [["value": "ada@acme.com", "type": "work", "primary": true], ["value": "ada@home.org", "type": "home"]],
        "name": ["givenName": "Ada", "familyName": "Lovelace"],
        "meta": ["created": "2026-11-01T09:00:00.000Z", "lastModified": "2026-11-20T09:00:00.000Z", "version": "W/\"3\""],
        .init(stringLiteral: ScimSchemas.enterpriseURN): ["department": "Analytical Engines"],
    ]

    func matches(_ filter: String) throws -> Bool { try ScimFilter.parse(filter, kind: .user).matches(Self.ada) }

    @Test("Operators, case rules, dates, presence, value paths, extensions")
    func evaluation() throws {
        #expect(try matches("userName eq \"ADA\""))  // userName is not case-exact
        #expect(try !matches("id eq \"U1\""))  // id is
        #expect(try matches("userName ne \"bob\"") && !matches("userName ne \"ada\""))
        #expect(try matches("title co \"unt\"") && matches("title sw \"count\"") && matches("title ew \"ESS\""))
        #expect(try matches("meta.lastModified gt \"2026-11-19T00:00:00Z\"") && !matches("meta.created ge \"2026-11-02T00:00:00Z\""))
        #expect(try matches("meta.created lt \"2026-11-01T09:00:01Z\""))
        #expect(try matches("title pr") && !matches("nickName pr"))
        #expect(try matches("active eq true") && !matches("active eq false") && matches("active eq \"True\""))
        #expect(try matches("emails co \"home.org\""))  // a multi-valued attribute compares its values
        #expect(try matches("emails[type eq \"work\" and value ew \"@acme.com\"]"))
        #expect(try !matches("emails[type eq \"home\" and value ew \"@acme.com\"]"))
        #expect(try matches("emails.type eq \"home\""))
        #expect(try matches("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw \"analytical\""))
        #expect(try matches("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"ada\""))
        #expect(try matches("nickName eq null") && !matches("title eq null"))
    }

    @Test("and binds tighter than or; not and parentheses group")
    func precedence() throws {
        #expect(try matches("userName eq \"x\" and title pr or active eq true"))  // (false and true) or true
        #expect(try !matches("userName eq \"x\" and (title pr or active eq true)"))
        #expect(try matches("not (userName eq \"x\") and title pr"))
        #expect(try !matches("not (userName eq \"ada\" or title eq \"x\")"))
        let parsed = try ScimFilter.parse("title eq \"1\" or nickName eq \"2\" and locale eq \"3\"", kind: .user)
        guard case .or(_, .and) = parsed else { Issue.record("parsed as \(parsed)"); return }
    }

    @Test("What an index can answer: an equality at the top of an and chain")
    func equality() throws {
        let lookup = try ScimFilter.parse("id eq \"g1\" and members[value eq \"u1\"]", kind: .group).equality(on: ["id", "displayName"])
        #expect(lookup?.attribute == "id" && lookup?.value == "g1")
        #expect(try ScimFilter.parse("id eq \"g1\" or displayName pr", kind: .group).equality(on: ["id"]) == nil)
        #expect(try ScimFilter.parse("USERNAME eq \"Ada\"", kind: .user).equality(on: ["userName"])?.attribute == "userName")
    }

    @Test("PATCH: Okta's value object, Entra's paths, a filtered path that creates its element, a whole extension")
    func patch() throws {
        var members = ScimPatch.Members()
        let stored = try ScimValues.normalise(Self.ada, kind: .user, checkSchemas: false)
        let body: JSONValue = [
            "schemas": [.string(ScimSchemas.patchURN)],
            "Operations": [
                ["op": "replace", "value": ["id": "u1", "Active": "False", "name.familyName": "King"]],
                ["op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+44 20 7946 0000"],
                ["op": "Replace", "path": "emails[type eq \"home\"].value", "value": "countess@home.org"],
                ["op": "Remove", "path": "emails[type eq \"work\"]"],
                ["op": "add", "path": .string(ScimSchemas.enterpriseURN), "value": ["division": "Engines", "schemas": ["x"]]],
            ],
        ]
        let patched = try ScimPatch.parse(body, kind: .user).apply(to: stored, members: &members, kind: .user)
        #expect(patched["active"] == false && patched["id"] == nil)
        #expect(patched["name"] == ["givenName": "Ada", "familyName": "King"])
        #expect(patched["phoneNumbers"] == [["type": "work", "value": "+44 20 7946 0000"]])
        #expect(patched["emails"] == [["value": "countess@home.org", "type": "home"]])
        #expect(patched[ScimSchemas.enterpriseURN] == ["department": "Analytical Engines", "division": "Engines"])
        let removed = try ScimPatch.parse(
            ["schemas": [.string(ScimSchemas.patchURN)], "Operations": [["op": "remove", "path": .string(ScimSchemas.enterpriseURN)]]], kind: .user
        ).apply(to: patched, members: &members, kind: .user)
        #expect(removed[ScimSchemas.enterpriseURN] == nil)
        // Mistakes are named, not guessed at.
        #expect(throws: ScimError.self) {
            try ScimPatch.parse(["schemas": [.string(ScimSchemas.patchURN)], "Operations": [["op": "replace", "path": "id", "value": "x"]]], kind: .user)
                .apply(to: stored, members: &members, kind: .user)
        }
        #expect(throws: ScimError.self) {
            try ScimPatch.parse(["schemas": [.string(ScimSchemas.patchURN)], "Operations": [["op": "add", "path": "emails[", "value": "x"]]], kind: .user)
        }
    }

    @Test("Group members: a set in order, added and removed by list or by filter")
    func members() throws {
        var members = ScimPatch.Members(["a", "b", "c"])
        let group: JSONValue = ["displayName": "Eng"]
        func apply(_ ops: JSONValue...) throws {
            _ = try ScimPatch.parse(["schemas": [.string(ScimSchemas.patchURN)], "Operations": .array(ops)], kind: .group)
                .apply(to: group, members: &members, kind: .group)
        }
        try apply(["op": "add", "path": "members", "value": [["value": "d"], ["value": "a"]]])
        #expect(members.ids == ["a", "b", "c", "d"])
        try apply(["op": "remove", "path": "members[value eq \"b\"]"], ["op": "Remove", "path": "members", "value": [["value": "c"]]])
        #expect(members.ids == ["a", "d"])
        try apply(["op": "replace", "path": "members", "value": [["value": "z"]]])
        #expect(members.ids == ["z"])
        try apply(["op": "replace", "value": ["members": [["value": "y"]], "displayName": "Eng"]])
        #expect(members.ids == ["y"])
        try apply(["op": "remove", "path": "members"])
        #expect(members.ids.isEmpty)
        #expect(throws: ScimError.self) { try apply(["op": "replace", "path": "members[value eq \"y\"].value", "value": "x"]) }
    }
}
