import Foundation
import GatehouseDomain
import GatehouseService
import Testing

/// Issue 20: decision bodies of the plain shape are read straight from their bytes
/// (`parsePlain`); anything else goes to the full parser. The fast path must never answer
/// differently: whatever it accepts, the full parser reads the same, and whatever the full
/// parser refuses, it leaves alone.
@Suite("Decision bodies read from their bytes")
struct PlainBodyTests {
    static func full<T>(_ text: String, _ parse: (JSONValue) throws(GatehouseError) -> T) -> T? {
        guard let value = try? JSONValue.parse(text) else { return nil }
        return try? parse(value)
    }

    static func plainLogin(_ text: String) -> LoginRequest? {
        Array(text.utf8).withUnsafeBytes { LoginRequest.parsePlain($0) }
    }

    static func plainUpload(_ text: String) -> UploadRequest? {
        Array(text.utf8).withUnsafeBytes { UploadRequest.parsePlain($0) }
    }

    static let logins = [
        #"{"provider":"github","username":"u1","external_id":"1","orgs":["acme"],"teams":["acme/eng"]}"#,
        #"{"provider":"github","username":"Alice-B","external_id":12345,"orgs":["Acme","acme"],"teams":["ACME/Eng"],"email":"a@x.io"}"#,
        " {\n\t\"username\" : \"bob\" ,\r\n \"provider\":\"gitlab\", \"orgs\": [ ] , \"teams\":[]}\n ",
        #"{"provider":"ldap","username":"carol.d"}"#,
        #"{"provider":"bitbucket","username":"d_e+f@g","external_id":"{abc-123}"}"#,
        #"{"provider":"github","username":"u1","external_id":0}"#,
    ]

    static let uploads = [
        #"{"repository":{"owner":"acme","name":"api","private":true},"author":{"provider":"github","username":"u1","external_id":"1"}}"#,
        #"{"author":{"username":"bob","provider":"gitlab"},"repository":{"private":false,"name":"web","owner":"Acme"}}"#,
        " { \"repository\" : { \"owner\" : \"o\" , \"name\" : \"n\" , \"private\" : false } , \"author\" : { \"provider\" : \"github\" , \"username\" : \"x\", \"external_id\": 7 } } ",
    ]

    @Test func plainBodiesTakeTheFastPathAndReadAsTheFullParserReadsThem() throws {
        for text in Self.logins {
            let fast = try #require(Self.plainLogin(text), "\(text) should be plain")
            #expect(fast == Self.full(text, LoginRequest.parse), "\(text)")
        }
        for text in Self.uploads {
            let fast = try #require(Self.plainUpload(text), "\(text) should be plain")
            #expect(fast == Self.full(text, UploadRequest.parse), "\(text)")
        }
        // Names are lowercased and deduplicated as by the full parser.
        let alice = try #require(Self.plainLogin(Self.logins[1]))
        #expect(alice.orgs == ["acme"] && alice.teams == ["acme/eng"] && alice.externalID == "12345" && alice.email == "a@x.io")
    }

    @Test(arguments: [
        // Refused by the full parser: the fast path must not accept them.
        #"{"provider":"github","username":"u1","provider":"gitlab"}"#,  // duplicate key
        #"{"provider":"github","username":"u1","extra":1}"#,  // unknown field
        #"{"provider":"github"}"#,  // username missing
        #"{"provider":"github","username":""}"#,
        #"{"provider":"github","username":"-lead"}"#,
        #"{"provider":"nosuch","username":"u1"}"#,
        #"{"provider":"github","username":"u1","teams":["noslash"]}"#,
        #"{"provider":"github","username":"u1","teams":["a/b/c"]}"#,
        #"{"provider":"github","username":"u1","orgs":[""]}"#,
        #"{"provider":"github","username":"u1","orgs":"acme"}"#,
        #"{"provider":"github","username":"u1","external_id":-1}"#,
        #"{"provider":"github","username":"u1","external_id":1.5}"#,
        #"{"provider":"github","username":"u1","external_id":01}"#,
        #"{"provider":"github","username":"u1","external_id":""}"#,
        #"{"provider":"github","username":"u1"} x"#,
        #"{"provider":"github","username":"u1",}"#,
        #"{"provider":"github","username":"u1""#,
        #"["provider"]"#,
        "",
        // Not plain, but fine: the full parser reads them (escapes, non-ASCII, null).
        #"{"provider":"github","username":"u\u0031"}"#,
        #"{"provider":"oidc","username":"zoë"}"#,
        #"{"provider":"github","username":"u1","email":null}"#,
        #"{"provider":"github","username":"u1","external_id":12345678901234567890}"#,
    ])
    func oddBodiesAreLeftToTheFullParser(_ text: String) {
        #expect(Self.plainLogin(text) == nil, "\(text)")
    }

    @Test func oddUploadsAreLeftToTheFullParser() {
        for text in [
            #"{"repository":{"owner":"acme","name":"api","private":"yes"},"author":{"provider":"github","username":"u1"}}"#,
            #"{"repository":{"owner":"acme","name":"api"},"author":{"provider":"github","username":"u1"}}"#,
            #"{"repository":{"owner":"acme","name":"api","private":true,"x":1},"author":{"provider":"github","username":"u1"}}"#,
            #"{"repository":{"owner":"acme","name":"api","private":true}}"#,
            #"{"repository":{"owner":"acme","name":"api","private":true},"author":{"provider":"github","username":"u1"},"author":{}}"#,
            #"{"repository":{"owner":"","name":"api","private":true},"author":{"provider":"github","username":"u1"}}"#,
        ] {
            #expect(Self.plainUpload(text) == nil, "\(text)")
        }
    }

    /// Every byte of the plain bodies changed, dropped or doubled in turn, and random
    /// changes beyond: the fast path answers as the full parser or not at all.
    @Test func mutationsNeverMakeTheFastPathDisagree() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]",:0123456789 \abcdefgnrstu/-."#.utf8) + [0x00, 0x7F, 0xC3, 0xA9]
        for text in Self.logins + Self.uploads {
            let bytes = Array(text.utf8)
            var variants: [[UInt8]] = []
            for i in bytes.indices {
                var dropped = bytes
                dropped.remove(at: i)
                var doubled = bytes
                doubled.insert(bytes[i], at: i)
                var changed = bytes
                changed[i] = alphabet.randomElement(using: &rng)!
                variants += [dropped, doubled, changed]
            }
            for _ in 0..<300 {
                var changed = bytes
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    changed[Int.random(in: 0..<changed.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                }
                variants.append(changed)
            }
            for variant in variants {
                let text = String(decoding: variant, as: UTF8.self)
                // Invalid UTF-8 is compared as bytes by both; decoding is for the message only.
                let fastLogin = variant.withUnsafeBytes { LoginRequest.parsePlain($0) }
                if let fastLogin {
                    #expect(fastLogin == (try? LoginRequest.parse(JSONValue.parse(variant))), "\(text)")
                }
                let fastUpload = variant.withUnsafeBytes { UploadRequest.parsePlain($0) }
                if let fastUpload {
                    #expect(fastUpload == (try? UploadRequest.parse(JSONValue.parse(variant))), "\(text)")
                }
            }
        }
    }
}
