import Foundation
import GatehouseDomain
import Testing

/// Vendor keys interoperate with the real `openssl` CLI in both directions.
@Suite("OpenSSL interoperability", .serialized)
struct OpenSSLInteropTests {
    @Test func opensslKeysSignLicensesThatBothVerify() throws {
        let openssl = try requireProgram("openssl", package: "openssl")
        let cli = try CLI()
        try run(openssl, ["genpkey", "-algorithm", "ed25519", "-out", cli.dir.file("k.pem")]).expectSuccess()
        try run(openssl, ["pkey", "-in", cli.dir.file("k.pem"), "-pubout", "-out", cli.dir.file("k.pub.pem")]).expectSuccess()
        _ = try cli.dir.write("terms.json", CLITests.currentTerms)
        // gatehouse signs with openssl's private key and verifies with openssl's public key…
        try cli("license", "sign", "--key", "k.pem", "--kid", "ossl", "--terms", "terms.json", "--out", "a.lic").expectSuccess()
        try cli("license", "verify", "a.lic", "--public-key", "k.pub.pem").expectSuccess()
        // …and openssl verifies gatehouse's signature over the exact payload bytes.
        let file = try LicenseFile.parse(String(contentsOfFile: cli.dir.file("a.lic"), encoding: .utf8)).get()
        _ = FileManager.default.createFile(atPath: cli.dir.file("payload"), contents: Data(file.payload))
        _ = FileManager.default.createFile(atPath: cli.dir.file("sig"), contents: Data(file.signature))
        let verified = try run(
            openssl, ["pkeyutl", "-verify", "-pubin", "-inkey", cli.dir.file("k.pub.pem"), "-rawin", "-in", cli.dir.file("payload"), "-sigfile", cli.dir.file("sig")])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        // The check can fail: one changed payload byte and openssl refuses too.
        _ = FileManager.default.createFile(atPath: cli.dir.file("payload"), contents: Data(file.payload.dropLast() + [UInt8(ascii: "x")]))
        let refused = try run(
            openssl, ["pkeyutl", "-verify", "-pubin", "-inkey", cli.dir.file("k.pub.pem"), "-rawin", "-in", cli.dir.file("payload"), "-sigfile", cli.dir.file("sig")])
        #expect(refused.status != 0)
    }

    @Test func gatehouseKeysWorkInOpenSSL() throws {
        let openssl = try requireProgram("openssl", package: "openssl")
        let cli = try CLI()
        let publicPEM = try cli("license", "keygen", "--out", "g.pem", "--kid", "g").expectSuccess().stdout
        // openssl reads the private key and derives the same public key gatehouse printed.
        let derived = try run(openssl, ["pkey", "-in", cli.dir.file("g.pem"), "-pubout"]).expectSuccess().stdout
        #expect(derived == publicPEM)
        // A license signed by openssl with gatehouse's key verifies in gatehouse.
        let terms = try JSONValue.parse(CLITests.currentTerms)
        let payload = Array(terms.canonicalText.utf8)
        _ = FileManager.default.createFile(atPath: cli.dir.file("payload"), contents: Data(payload))
        try run(openssl, ["pkeyutl", "-sign", "-inkey", cli.dir.file("g.pem"), "-rawin", "-in", cli.dir.file("payload"), "-out", cli.dir.file("sig")]).expectSuccess()
        let signature = try Array(Data(contentsOf: URL(fileURLWithPath: cli.dir.file("sig"))))
        _ = try cli.dir.write("o.lic", LicenseFile(kid: "g", payload: payload, signature: signature).armored)
        _ = try cli.dir.write("g.pub.pem", publicPEM)
        try cli("license", "verify", "o.lic", "--public-key", "g.pub.pem").expectSuccess()
    }
}
