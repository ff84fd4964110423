import Foundation
import GatehouseDirectory

/// The company directory the directory tests start from: people (one with filter
/// metacharacters in the uid, one without email) and nested groups with a cycle
/// (codecov-users ⊃ backend ⊃ platform ⊃ codecov-users), a posixGroup and a groupOfUniqueNames.
enum DirectoryFixture {
    static func person(_ uid: String, mail: String?, cn: String? = nil, rdn: String? = nil) -> String {
        var entry = """
            dn: \(rdn ?? "uid=\(uid)"),ou=people,\(Slapd.suffix)
            objectClass: inetOrgPerson
            uid:: \(Data(uid.utf8).base64EncodedString())
            cn: \(cn ?? uid.capitalized)
            sn: \(uid)

            """
        if let mail { entry += "mail: \(mail)\n" }
        return entry + "\n"
    }

    static func group(_ cn: String, members: [String]) -> String {
        "dn: cn=\(cn),ou=groups,\(Slapd.suffix)\nobjectClass: groupOfNames\ncn: \(cn)\n" + members.map { "member: \($0),\(Slapd.suffix)\n" }.joined() + "\n"
    }

    static let weirdUID = #"we*ird(1)\x"#

    static let ldif: String =
        person("alice", mail: "alice@acme.com", cn: "Alice Archer")
        + person("bob", mail: "bob@acme.com")
        + person("carol", mail: "Carol@Acme.com")
        + person("dave", mail: nil)
        + person("eve", mail: "eve@acme.com")
        + person("frank", mail: "frank@acme.com")
        + person(weirdUID, mail: "weird@acme.com", cn: "Weird Name", rdn: "cn=Weird Name")
        + group("codecov-users", members: ["cn=backend,ou=groups", "uid=carol,ou=people"])
        + group("backend", members: ["uid=alice,ou=people", "uid=bob,ou=people", "cn=platform,ou=groups"])
        + group("platform", members: ["uid=frank,ou=people", "cn=codecov-users,ou=groups"])
        + """
        dn: cn=ops,ou=groups,\(Slapd.suffix)
        objectClass: posixGroup
        cn: ops
        gidNumber: 5000
        memberUid: dave

        dn: cn=auditors,ou=groups,\(Slapd.suffix)
        objectClass: groupOfUniqueNames
        cn: auditors
        uniqueMember: uid=eve,ou=people,\(Slapd.suffix)


        """

    /// `count` people `user00000`… with mail, for paging and load.
    static func many(_ count: Int, from start: Int = 0) -> String {
        (start..<(start + count)).map { person(String(format: "user%05d", $0), mail: String(format: "user%05d@acme.com", $0)) }.joined()
    }
}
