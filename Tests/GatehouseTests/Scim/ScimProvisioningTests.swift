import Foundation
import GatehouseDomain
import GatehouseHTTP
import GatehouseService
import GatehouseStorage
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// SCIM provisioning end to end over the real router and a real database: Okta's and Entra
/// ID's documented request sequences (written from their provisioning guides), what each
/// does to people, seats and login decisions, and what is refused.
@Suite("SCIM provisioning")
struct ScimProvisioningTests {
    typealias F = ScimFixture

    /// Okta: look up by userName before creating, create, push a group and its members, rename
    /// it, update the user with PUT, deactivate with `replace {active: false}`, reactivate.
    @Test(
        "Okta's sequence: a provisioned person logs in through the allowed group, a deactivation releases the seat",
        arguments: Engine.allCases)
    func oktaSequence(engine: Engine) async throws {
        let f = try await F(engine: engine)
        try await f.app.test(.router) { client in
            let lookup = try await f.call(client, .get, "/Users?filter=\(F.query("userName eq \"ada@acme.com\""))&startIndex=1&count=100")
            #expect(lookup.status == 200 && lookup.total == 0 && lookup.body?["schemas"] == [.string(ScimSchemas.listURN)])

            var body = F.user("ada@acme.com", email: "ada@acme.com", externalID: "00u1ada")
            if case .object(var o) = body {
                // What Okta also sends: a password (not kept: no such attribute here) and an empty groups list.
                o["password"] = "t1meMa$heen"
                o["groups"] = []
                o["displayName"] = "Ada Lovelace"
                o["locale"] = "en-GB"
                body = .object(o)
            }
            let created = try await f.call(client, .post, "/Users", body)
            #expect(created.status == 201 && created.etag == "W/\"1\"")
            #expect(created.headers[.location]?.hasSuffix("/scim/v2/Users/\(created.id)") == true)
            #expect(created.body?["password"] == nil && created.body?["locale"] == "en-GB" && created.body?["externalId"] == "00u1ada")
            let userID = created.id

            // Linked by e-mail to their GitHub login; not in the allowed group yet.
            var decision = try await f.decide("github:ada-l", email: "ada@acme.com")
            #expect(!decision.allow && decision.reason == .notInAllowedGroup)

            let group = try await f.call(client, .post, "/Groups", F.group("Engineering"))
            #expect(group.status == 201)
            let add = try await f.call(
                client, .patch, "/Groups/\(group.id)",
                F.patch(["op": "add", "path": "members", "value": [["value": .string(userID), "display": "ada@acme.com"]]]))
            #expect(add.status == 200 && add.body?["members"]?.canonicalText.contains(userID) == true)
            decision = try await f.decide("github:ada-l", email: "ada@acme.com")
            #expect(decision.allow && decision.reason == .ok)
            let personID = try #require(decision.personID)
            #expect(try await f.gatehouse.store.person(id: personID)?.seat == .active)
            // The user shows the group.
            let read = try await f.call(client, .get, "/Users/\(userID)")
            #expect(read.body?["groups"]?.canonicalText.contains("Engineering") == true)

            // Okta renames a group with replace and a value object (its id included).
            let renamed = try await f.call(
                client, .patch, "/Groups/\(group.id)",
                F.patch(["op": "replace", "value": ["id": .string(group.id), "displayName": "Platform"]]))
            #expect(renamed.status == 200 && renamed.body?["displayName"] == "Platform")
            #expect(try await f.decide("github:ada-l").reason == .notInAllowedGroup)
            _ = try await f.call(
                client, .patch, "/Groups/\(group.id)", F.patch(["op": "replace", "value": ["displayName": "engineering"]]))
            #expect(try await f.decide("github:ada-l").allow)

            // Profile update with PUT.
            var put = F.user("ada@acme.com", email: "ada@acme.com", given: "Augusta Ada", family: "King", externalID: "00u1ada")
            if case .object(var o) = put {
                o["id"] = .string(userID)
                put = .object(o)
            }
            let replaced = try await f.call(client, .put, "/Users/\(userID)", put)
            #expect(replaced.status == 200 && replaced.etag == "W/\"2\"")
            #expect(try await f.gatehouse.store.person(id: personID)?.name == "Augusta Ada King")

            // A gate session of theirs, to see it end.
            var rng = SystemRandomNumberGenerator()
            let session = GateSession(
                id: SignInSecrets.sessionID(using: &rng), tokenHash: SignInSecrets.hash(SignInSecrets.random(using: &rng)),
                personID: personID,
                identity: IdentityRef.parse("github:ada-l")!, signIn: "test", createdAt: f.clock.now,
                expiresAt: f.clock.now.addingTimeInterval(3600),
                lastSeenAt: f.clock.now, userAgent: "", address: "")
            try await f.gatehouse.store.startSession(session, actor: "test", at: f.clock.now)
            #expect(try await f.gatehouse.listSessions(user: "github:ada-l").count == 1)

            // Deactivation: left the directory, seat released, sessions ended, logins refused.
            let deactivated = try await f.call(client, .patch, "/Users/\(userID)", F.patch(["op": "replace", "value": ["active": false]]))
            #expect(deactivated.status == 200 && deactivated.body?["active"] == false)
            let gone = try await f.gatehouse.store.person(id: personID)
            #expect(gone?.status == .leftDirectory && gone?.seat != .active)
            #expect(try await f.gatehouse.listSessions(user: "github:ada-l").isEmpty)
            #expect(try await f.decide("github:ada-l").reason == .notInDirectory)

            // Reactivation: back in; the seat is taken again at the next login.
            _ = try await f.call(client, .patch, "/Users/\(userID)", F.patch(["op": "replace", "value": ["active": true]]))
            #expect(try await f.gatehouse.store.person(id: personID)?.status == .active)
            #expect(try await f.decide("github:ada-l").allow)

            // Okta removes a member with a value-filter path.
            let removed = try await f.call(
                client, .patch, "/Groups/\(group.id)", F.patch(["op": "remove", "path": .string("members[value eq \"\(userID)\"]")]))
            #expect(removed.status == 200 && removed.body?["members"] == nil)
            #expect(try await f.decide("github:ada-l").reason == .notInAllowedGroup)
        }
        let actions = try await f.gatehouse.auditEntries(AuditQuery()).map(\.action)
        for action in [
            "scim.user.create", "scim.user.update", "scim.group.create", "scim.group.update", "directory.person.add",
            "directory.person.leave", "directory.membership",
        ] {
            #expect(actions.contains(action), "\(action) audited")
        }
        #expect(try await f.gatehouse.verifyAudit().ok)
        try await expectMemoryFollowsWrites(f.gatehouse)
    }

    /// Entra ID: look-ups by userName, a create with the enterprise extension, a PATCH of
    /// several capitalised operations (a filtered e-mail path, an extension path, a boolean
    /// string), group pushes with member lists, the group/member check, and DELETE.
    @Test("Entra ID's sequence: paths, boolean strings, member lists, DELETE", arguments: Engine.allCases)
    func entraSequence(engine: Engine) async throws {
        let f = try await F(engine: engine)
        try await f.app.test(.router) { client in
            let none = try await f.call(client, .get, "/Users?filter=\(F.query("userName eq \"grace@acme.com\""))")
            #expect(none.total == 0)
            let body: JSONValue = [
                "schemas": [.string(ScimSchemas.userURN), .string(ScimSchemas.enterpriseURN)], "externalId": "e5a1",
                "userName": "grace@acme.com",
                "active": true, "displayName": "Grace Hopper", "emails": [["primary": true, "type": "work", "value": "grace@acme.com"]],
                "name": ["formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"],
                .init(stringLiteral: ScimSchemas.enterpriseURN): ["employeeNumber": "1906", "department": "Navy"],
            ]
            let created = try await f.call(client, .post, "/Users", body)
            #expect(created.status == 201)
            #expect(created.body?["schemas"] == [.string(ScimSchemas.userURN), .string(ScimSchemas.enterpriseURN)])
            let id = created.id
            let byExternal = try await f.call(client, .get, "/Users?filter=\(F.query("externalId eq \"e5a1\""))")
            #expect(byExternal.total == 1 && byExternal.resources.first?["id"] == .string(id))

            let patched = try await f.call(
                client, .patch, "/Users/\(id)",
                F.patch(
                    ["op": "Replace", "path": "displayName", "value": "Rear Admiral Hopper"],
                    ["op": "Add", "path": "emails[type eq \"work\"].value", "value": "grace.hopper@acme.com"],
                    ["op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"],
                    ["op": "Replace", "path": .string(ScimSchemas.enterpriseURN + ":department"), "value": "Computing"],
                    ["op": "Add", "path": .string(ScimSchemas.enterpriseURN + ":manager"), "value": "0001"],
                    ["op": "Replace", "path": "name.givenName", "value": "Grace B."]))
            #expect(patched.status == 200, "\(patched.detail)")
            #expect(patched.body?["displayName"] == "Rear Admiral Hopper")
            #expect(patched.body?["emails"] == [["primary": true, "type": "work", "value": "grace.hopper@acme.com"]])
            #expect(patched.body?["phoneNumbers"] == [["type": "mobile", "value": "+1 555 0100"]])
            #expect(patched.body?[ScimSchemas.enterpriseURN]?["department"] == "Computing")
            #expect(patched.body?[ScimSchemas.enterpriseURN]?["manager"] == ["value": "0001"])
            #expect(patched.body?["name"]?["givenName"] == "Grace B." && patched.body?["name"]?["familyName"] == "Hopper")
            let person = try #require(try await f.gatehouse.store.identity(IdentityRef(provider: .scim, username: "grace@acme.com")))
            #expect(person.email == "grace.hopper@acme.com")

            // Groups: the look-up Entra makes, a create, member lists added and removed.
            let look = try await f.call(
                client, .get, "/Groups?excludedAttributes=members&filter=\(F.query("displayName eq \"Engineering\""))")
            #expect(look.status == 200 && look.total == 0)
            let group = try await f.call(
                client, .post, "/Groups", ["schemas": [.string(ScimSchemas.groupURN)], "displayName": "Engineering", "externalId": "g-1"])
            let added = try await f.call(
                client, .patch, "/Groups/\(group.id)", F.patch(["op": "Add", "path": "members", "value": [["value": .string(id)]]]))
            #expect(added.status == 200)
            let check = try await f.call(
                client, .get,
                "/Groups?excludedAttributes=members&filter=\(F.query("id eq \"\(group.id)\" and members[value eq \"\(id)\"]"))")
            #expect(check.total == 1 && check.resources.first?["members"] == nil)
            #expect(try await f.decide("github:ghopper", email: "grace.hopper@acme.com").allow)
            let out = try await f.call(
                client, .patch, "/Groups/\(group.id)", F.patch(["op": "Remove", "path": "members", "value": [["value": .string(id)]]]))
            #expect(out.status == 200 && out.body?["members"] == nil)
            let checkAgain = try await f.call(
                client, .get, "/Groups?filter=\(F.query("id eq \"\(group.id)\" and members[value eq \"\(id)\"]"))")
            #expect(checkAgain.total == 0)

            // Entra's disable: a boolean as a string.
            let disabled = try await f.call(client, .patch, "/Users/\(id)", F.patch(["op": "Replace", "path": "active", "value": "False"]))
            #expect(disabled.status == 200 && disabled.body?["active"] == false)
            #expect(try await f.decide("github:ghopper").reason == .notInDirectory)
            // And its delete: gone from SCIM, the person kept (history) but out of the directory.
            let deleted = try await f.call(client, .delete, "/Users/\(id)")
            #expect(deleted.status == 204)
            #expect(F.isError(try await f.call(client, .get, "/Users/\(id)"), 404))
            #expect(try await f.gatehouse.store.person(id: person.personID)?.status == .leftDirectory)
            // Back under the same userName later: the same person rejoins.
            let again = try await f.call(client, .post, "/Users", F.user("grace@acme.com", email: "grace@acme.com"))
            #expect(again.status == 201 && again.id != id)
            #expect(
                try await f.gatehouse.store.identity(IdentityRef(provider: .scim, username: "grace@acme.com"))?.personID == person.personID)
            #expect(try await f.gatehouse.store.person(id: person.personID)?.status == .active)
        }
        #expect(try await f.gatehouse.verifyAudit().ok)
        try await expectMemoryFollowsWrites(f.gatehouse)
    }

    @Test("A login is linked to its SCIM person by the identity policy's username template; require_directory_person counts SCIM people")
    func linkedByTemplate() async throws {
        let f = try await F(policy: [
            "identity.yml": "identity:\n  link_by: [template]\n  templates: {github: \"{uid}-acme\"}\n  require_directory_person: true\n",
            "seats.yml": "seats:\n  auto_activate: true\n",
        ])
        try await f.app.test(.router) { client in
            #expect(try await f.decide("github:ada-acme").reason == .notInDirectory)
            let created = try await f.call(client, .post, "/Users", F.user("ada"))
            #expect(created.status == 201)
            let decision = try await f.decide("github:ada-acme")
            #expect(decision.allow)
            let scim = try #require(try await f.gatehouse.store.identity(IdentityRef(provider: .scim, username: "ada")))
            #expect(decision.personID == scim.personID)
        }
        try await expectMemoryFollowsWrites(f.gatehouse)
    }

    @Test("Bad requests are refused in SCIM's error shape and change nothing")
    func refusals() async throws {
        let f = try await F()
        try await f.app.test(.router) { client in
            let ada = try await f.call(client, .post, "/Users", F.user("ada"))
            let before = try await f.gatehouse.auditEntries(AuditQuery()).count
            #expect(F.isError(try await f.call(client, .post, "/Users", raw: "{\"userName\": \"x\""), 400, "invalidSyntax"))
            #expect(F.isError(try await f.call(client, .post, "/Users", raw: "[1, 2]"), 400, "invalidSyntax"))
            #expect(
                F.isError(
                    try await f.call(
                        client, .post, "/Users", ["schemas": ["urn:example:params:scim:schemas:Employee"], "userName": "eve"]), 400,
                    "invalidValue"))
            #expect(F.isError(try await f.call(client, .post, "/Users", ["schemas": [.string(ScimSchemas.userURN)]]), 400, "invalidValue"))
            #expect(
                F.isError(
                    try await f.call(client, .post, "/Users", ["schemas": [.string(ScimSchemas.userURN)], "userName": 42]), 400,
                    "invalidValue"))
            #expect(F.isError(try await f.call(client, .post, "/Users", ["userName": "eve", "active": "maybe"]), 400, "invalidValue"))
            #expect(F.isError(try await f.call(client, .post, "/Users", ["userName": "eve\u{200B}"]), 400, "invalidValue"))
            let duplicate = try await f.call(client, .post, "/Users", F.user("ADA"))
            #expect(F.isError(duplicate, 409, "uniqueness") && duplicate.detail.contains(ada.id))
            #expect(F.isError(try await f.call(client, .post, "/Groups", F.group("Ops", members: ["no-such-user"])), 400, "invalidValue"))
            #expect(F.isError(try await f.call(client, .patch, "/Users/\(ada.id)", ["Operations": []]), 400, "invalidValue"))
            #expect(
                F.isError(
                    try await f.call(client, .patch, "/Users/\(ada.id)", F.patch(["op": "replace", "path": "groups", "value": []])), 400,
                    "mutability"))
            #expect(
                F.isError(
                    try await f.call(client, .patch, "/Users/\(ada.id)", F.patch(["op": "replace", "path": "shoeSize", "value": 9])), 400,
                    "invalidPath"))
            #expect(F.isError(try await f.call(client, .patch, "/Users/\(ada.id)", F.patch(["op": "remove"])), 400, "noTarget"))
            #expect(
                F.isError(
                    try await f.call(client, .patch, "/Users/\(ada.id)", F.patch(["op": "move", "path": "title"])), 400, "invalidValue"))
            #expect(
                F.isError(
                    try await f.call(client, .put, "/Users/\(ada.id)", F.user("ada"), headers: [.ifMatch: "yesterday"]), 400, "invalidVers")
            )
            #expect(
                F.isError(
                    try await f.call(client, .put, "/Users/\(ada.id)", F.user("ada", given: "A"), headers: [.ifMatch: "W/\"7\""]), 412))
            #expect(F.isError(try await f.call(client, .get, "/Users/nope"), 404))
            #expect(F.isError(try await f.call(client, .delete, "/Groups/nope"), 404))
            #expect(F.isError(try await f.call(client, .get, "/Users?sortBy=userName"), 400))
            #expect(F.isError(try await f.call(client, .get, "/Users?count=ten"), 400))
            #expect(F.isError(try await f.call(client, .get, "/Elephants"), 404))
            #expect(F.isError(try await f.call(client, .post, "/Schemas", ["x": 1]), 405))
            // A body over the limit is refused before it is read, in SCIM's shape too.
            let big = try await f.call(
                client, .post, "/Users", raw: "{\"userName\": \"" + String(repeating: "x", count: HTTPLimits.maxBodyBytes) + "\"}",
                headers: [.contentLength: String(HTTPLimits.maxBodyBytes + 16)])
            #expect(F.isError(big, 413), "\(big.status) \(big.detail)")
            // Tokens: none, wrong, and an admin token (not an identity provider's).
            #expect(F.isError(try await f.call(client, .get, "/Users", token: "gth_nonsense"), 401))
            #expect(F.isError(try await f.call(client, .get, "/Users", token: f.admin), 403))
            try await client.execute(uri: "/scim/v2/Users", method: .get) { response in
                #expect(response.status == .unauthorized && response.headers[.wwwAuthenticate] != nil)
            }
            // A scim token opens nothing else.
            try await client.execute(uri: "/v1/license", method: .get, headers: [.authorization: "Bearer \(f.token)"]) { response in
                #expect(response.status == .forbidden)
            }
            #expect(try await f.gatehouse.auditEntries(AuditQuery()).count == before)
            let unchanged = try await f.call(client, .get, "/Users/\(ada.id)")
            #expect(unchanged.etag == "W/\"1\"" && unchanged.body?["name"]?["givenName"] == "Ada")
        }
    }

    /// Hostile filters are parse errors naming what is wrong, never a match-all or a crash.
    @Test("Filter injection attempts are 400 invalidFilter")
    func filterInjection() async throws {
        let f = try await F()
        try await f.app.test(.router) { client in
            _ = try await f.call(client, .post, "/Users", F.user("ada", email: "ada@acme.com"))
            f.clockAdvance(1)
            _ = try await f.call(client, .post, "/Users", F.user("bob", email: "bob@acme.com"))
            let hostile = [
                "userName eq \"ada\" or 1 eq 1", "userName eq \"ada\") or (userName pr", "userName eq ada", "userName eq \"ada",
                "userName eq \"ada\" --", "userName eq \"ada\"; DROP TABLE scim_users", "password eq \"x\"", "userName like \"a%\"",
                "userName eq \"a\" and", "not userName eq \"ada\"", "emails[type eq \"work\"", "name eq \"x\"", "active gt true",
                "userName eq \"\\u0000\" or \"1\" eq \"1\"",
                String(repeating: "(", count: 200) + "userName pr" + String(repeating: ")", count: 200),
                "userName eq " + String(repeating: "x", count: 5000), "urn:evil:schema:userName eq \"ada\"", "meta.created gt \"soon\" or",
            ]
            for filter in hostile {
                let answer = try await f.call(client, .get, "/Users?filter=\(F.query(filter))")
                #expect(F.isError(answer, 400, "invalidFilter"), "filter \(filter.prefix(60)) → \(answer.status) \(answer.detail)")
            }
            // The real thing, for contrast.
            let both = try await f.call(
                client, .get, "/Users?filter=\(F.query("emails[value ew \"@acme.com\"] and not (userName eq \"nobody\")"))")
            #expect(both.total == 2)
            let one = try await f.call(client, .get, "/Users?filter=\(F.query("userName eq \"ADA\" or userName sw \"zz\""))")
            #expect(one.total == 1)
            let counted = try await f.call(client, .get, "/Users?count=0")
            #expect(counted.total == 2 && counted.resources.isEmpty)
            let page = try await f.call(client, .get, "/Users?startIndex=2&count=1&attributes=userName")
            #expect(
                page.total == 2 && page.resources.count == 1 && page.resources[0]["userName"] == "bob" && page.resources[0]["emails"] == nil
            )
            // An attribute a user has not is left out of `attributes`, not refused (RFC 7644).
            let named = try await f.call(client, .get, "/Users?attributes=shoeSize,userName&filter=\(F.query("userName eq \"ada\""))")
            #expect(named.status == 200 && named.resources.first?["userName"] == "ada" && named.resources.first?["name"] == nil)
        }
    }

    /// Concurrent PATCHes of one user: without If-Match each is applied in turn and none is
    /// lost; with the same If-Match exactly one wins and the others get 412.
    @Test("Concurrent PATCHes of one user: nothing lost; ETag conflicts answer 412", arguments: Engine.allCases)
    func concurrentPatches(engine: Engine) async throws {
        let f = try await F(engine: engine)
        try await f.app.test(.router) { client in
            let id = try await f.call(client, .post, "/Users", F.user("ada")).id
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<20 {
                    group.addTask {
                        try await f.call(
                            client, .patch, "/Users/\(id)",
                            F.patch([
                                "op": "add", "path": "phoneNumbers",
                                "value": [["value": .string("+1 555 01\(n < 10 ? "0" : "")\(n)"), "type": "work"]],
                            ])
                        )
                        .status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 })
            let after = try await f.call(client, .get, "/Users/\(id)")
            guard case .array(let phones)? = after.body?["phoneNumbers"] else { Issue.record("no phone numbers"); return }
            #expect(phones.count == 20 && after.etag == "W/\"21\"")

            let raced = try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<10 {
                    group.addTask {
                        try await f.call(
                            client, .patch, "/Users/\(id)", F.patch(["op": "replace", "path": "title", "value": .string("title \(n)")]),
                            headers: [.ifMatch: "W/\"21\""]
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(raced.filter { $0 == 200 }.count == 1 && raced.filter { $0 == 412 }.count == 9, "\(raced)")
        }
    }

    /// A group of 10,000 members patched in one request each way (Entra's member lists).
    @Test("A 10,000-member group patch adds and removes everyone in one request")
    func bigGroup() async throws {
        let f = try await F()
        // The users through the store's own operation (what a POST does, less the HTTP and the
        // catch-up of memory after each: 10,000 of those are the provisioning benchmark's business).
        var created: [String] = []
        for n in 0..<10_000 {
            let id = String(format: "u-%05d", n)
            _ = try await f.gatehouse.store.createScimUser(
                id: id, resource: F.user(String(format: "user%05d", n)), newPersonID: String(format: "p_scim%05d", n),
                identity: IdentityPolicy(),
                actor: "test", at: f.clock.now)
            created.append(id)
        }
        try await f.gatehouse.refresh()
        let ids = created
        try await f.app.test(.router) { client in
            let group = try await f.call(client, .post, "/Groups", F.group("Engineering"))
            let members: JSONValue = .array(ids.map { ["value": .string($0)] })
            let added = try await f.call(
                client, .patch, "/Groups/\(group.id)", F.patch(["op": "Add", "path": "members", "value": members]))
            #expect(added.status == 200)
            if case .array(let listed)? = added.body?["members"] { #expect(listed.count == 10_000) } else { Issue.record("no members") }
            try await expectMemoryFollowsWrites(f.gatehouse)
            let facts = try #require(try await f.gatehouse.store.identity(IdentityRef(provider: .scim, username: "user09999")))
            #expect(try await f.gatehouse.store.memberships(identityID: facts.id).map(\.name) == ["engineering"])
            let removed = try await f.call(
                client, .patch, "/Groups/\(group.id)", F.patch(["op": "Remove", "path": "members", "value": members]))
            #expect(removed.status == 200 && removed.body?["members"] == nil)
            #expect(try await f.gatehouse.store.memberships(identityID: facts.id).isEmpty)
        }
        try await expectMemoryFollowsWrites(f.gatehouse)
    }

    /// The removal guard: a burst of deactivations beyond max_removal_percent an hour is
    /// refused with a SCIM error that says what to do; an administrator can allow more.
    @Test("The removal guard refuses a burst of deactivations and deletions until an administrator allows it")
    func removalGuard() async throws {
        let f = try await F(removal: ScimRemovalGuard(maxPercent: 10, floor: 0))
        try await f.app.test(.router) { client in
            var ids: [String] = []
            for n in 0..<20 { ids.append(try await f.call(client, .post, "/Users", F.user("u\(n)")).id) }
            for id in ids.prefix(2) {
                #expect(
                    try await f.call(client, .patch, "/Users/\(id)", F.patch(["op": "replace", "value": ["active": false]])).status == 200)
            }
            let before = try await f.gatehouse.auditEntries(AuditQuery()).count
            let refused = try await f.call(client, .patch, "/Users/\(ids[2])", F.patch(["op": "replace", "value": ["active": false]]))
            #expect(F.isError(refused, 409) && refused.detail.contains("gatehouse scim allow-removals"), "\(refused.detail)")
            #expect(F.isError(try await f.call(client, .delete, "/Users/\(ids[3])"), 409))
            #expect(try await f.gatehouse.auditEntries(AuditQuery()).count == before)
            #expect(try await f.call(client, .get, "/Users/\(ids[2])").body?["active"] == true)
            // Profile changes still go through.
            #expect(
                try await f.call(client, .patch, "/Users/\(ids[2])", F.patch(["op": "replace", "path": "title", "value": "CTO"])).status
                    == 200)
            try await f.gatehouse.allowScimRemovals(1, actor: "cli:ops")
            #expect(try await f.call(client, .delete, "/Users/\(ids[3])").status == 204)
            #expect(F.isError(try await f.call(client, .delete, "/Users/\(ids[4])"), 409))
            // An hour later the window has moved on.
            f.clockAdvance(3601)
            #expect(try await f.call(client, .delete, "/Users/\(ids[4])").status == 204)
        }
        let status = try await f.gatehouse.scimStatus()
        #expect(status.summary.users == 18 && status.summary.activeUsers == 16 && status.tokens == ["okta"])
        // The refusal is kept for the directory.sync_refused notification.
        #expect(status.summary.lastRefusal?.message.contains("SCIM people have left in the last hour") == true)
    }
}
