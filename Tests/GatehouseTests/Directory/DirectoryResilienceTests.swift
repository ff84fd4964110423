import Foundation
import GatehouseDirectory
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Synchronization
import Testing

/// Fail-static, paging, timeouts and TLS, against a real slapd.
@Suite("Directory resilience")
struct DirectoryResilienceTests {
    @Test("A directory larger than the server's size limit is read whole with paged results; without paging it is refused")
    func paging() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.many(120), sizeLimit: 50)
        let (_, gatehouse, _) = try await gatehouseWithLicense(directory: slapd.configuration(pageSize: 20))
        let pages = Mutex(0)
        let outcome = try await gatehouse.syncDirectory(actor: "test") { _ in pages.withLock { $0 += 1 } }
        #expect(outcome.plan.added.count == 120)
        #expect(pages.withLock { $0 } >= 6)

        // The limit is real: the same read without paging stops at 50 and changes nothing.
        let (_, unpaged, _) = try await gatehouseWithLicense(directory: slapd.configuration(pageSize: 0))
        await #expect {
            _ = try await unpaged.syncDirectory(actor: "test")
        } throws: { error in
            (error as? GatehouseError)?.message.contains("size limit") == true
        }
        #expect(try await unpaged.users(seat: nil, inactiveDays: nil).isEmpty)
    }

    @Test("The server stopped mid-sync: nothing changes, logins go on from the last good sync, readyz and ldap test say stale")
    func stoppedMidSync() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif + DirectoryFixture.many(300))
        let (_, gatehouse, _) = try await gatehouseWithLicense(directory: slapd.configuration(pageSize: 25))
        _ = try await gatehouse.syncDirectory(actor: "test")
        #expect(try await gatehouse.authorizeLogin(login("ldap:alice"), actor: "test").allow)
        try slapd.modify("dn: uid=bob,ou=people,\(Slapd.suffix)\nchangetype: delete\n")
        let head = try await gatehouse.store.auditHeadSeq()

        // Kill the server as soon as the first page has arrived.
        do {
            _ = try await gatehouse.syncDirectory(actor: "test") { progress in
                if progress.people > 0 { slapd.stop() }
            }
            Issue.record("a sync with the server gone succeeded")
        } catch let error as GatehouseError {
            #expect(error.kind == .unavailable)
            #expect(error.message.contains("nothing changed"))
        }
        #expect(try await gatehouse.store.auditHeadSeq() == head)
        // bob was deleted, but the sync never finished: he is still a directory person.
        #expect(try await gatehouse.user("ldap:bob").person.status == .active)
        #expect(try await gatehouse.authorizeLogin(login("ldap:alice"), actor: "test").allow)
        #expect(try await gatehouse.authorizeLogin(login("ldap:user00007"), actor: "test").allow)

        let status = try await gatehouse.directoryStatus()
        #expect(status.state == .stale && status.sync?.lastError != nil)
        let (ready, body) = await gatehouse.readiness()
        #expect(ready)  // fail-static: a stale directory never takes Gatehouse out of service
        #expect(body["directory"]?["state"] == "stale")
        let test = try await gatehouse.testDirectory()
        #expect(test.error?.code == DirectoryError.Code.unreachable.rawValue)
        #expect(test.status.state == .stale)
    }

    @Test("An unreachable directory before any sync: errors say so, nobody is blocked")
    func unreachable() async throws {
        var config = DirectoryConfiguration(url: "ldap://127.0.0.1:\(try freeLoopbackPort())", userBase: "ou=people,dc=acme,dc=com")
        config.timeout = 2
        let (_, gatehouse, _) = try await gatehouseWithLicense(directory: config)
        let test = try await gatehouse.testDirectory()
        #expect(test.error?.code == DirectoryError.Code.unreachable.rawValue)
        #expect(test.status.state == .neverSynced)
        await #expect(throws: GatehouseError.self) { _ = try await gatehouse.syncDirectory(actor: "test") }
        #expect(try await gatehouse.authorizeLogin(login("github:alice"), actor: "test").allow)
    }

    @Test("A server that stops answering times out instead of hanging the sync")
    func timeout() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        var config = slapd.configuration()
        config.timeout = 1
        let (_, gatehouse, _) = try await gatehouseWithLicense(directory: config)
        kill(slapd.pid, SIGSTOP)
        defer { kill(slapd.pid, SIGCONT) }
        let started = ContinuousClock.now
        let test = try await gatehouse.testDirectory()
        #expect(test.error?.code == DirectoryError.Code.timeout.rawValue)
        #expect(ContinuousClock.now - started < .seconds(8))
    }

    @Test("Wrong bind password: a clear error, nothing changed")
    func badCredentials() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        var config = slapd.configuration()
        config.bindPassword = "not-the-password"
        let (_, gatehouse, _) = try await gatehouseWithLicense(directory: config)
        let test = try await gatehouse.testDirectory()
        #expect(test.error?.code == DirectoryError.Code.bindFailed.rawValue)
        #expect(test.error?.message.contains("not-the-password") == false)
    }

    @Test("bind_password_file is read again at every sync: a rotated password is picked up without a restart")
    func rotatedPassword() async throws {
        let slapd = try Slapd(ldif: DirectoryFixture.ldif)
        let dir = try TempDir()
        let passwordFile = try dir.write("ldap.pw", Slapd.servicePassword + "\n")
        _ = try dir.write(
            "gatehouse.yml",
            "ldap:\n  url: \(slapd.url)\n  bind_dn: \(Slapd.serviceDN)\n  bind_password_file: ldap.pw\n  user_base: ou=people,\(Slapd.suffix)\n")
        let loaded = try GatehouseConfiguration.load(path: dir.file("gatehouse.yml"), environment: [:])
        #expect(loaded.directory?.bindPasswordFile == passwordFile)
        let (_, gatehouse, _) = try await gatehouseWithLicense(directory: loaded.directory)
        #expect(try await gatehouse.syncDirectory(actor: "test").plan.added.count == 7)

        // The directory team rotates the service account's password; the file is not updated yet.
        try slapd.modify("dn: \(Slapd.serviceDN)\nchangetype: modify\nreplace: userPassword\nuserPassword: rotated-secret\n")
        try slapd.modify("dn: uid=dave,ou=people,\(Slapd.suffix)\nchangetype: modify\nreplace: cn\ncn: David Dunn\n")
        await #expect(throws: GatehouseError.self) { _ = try await gatehouse.syncDirectory(actor: "test") }
        #expect(try await gatehouse.directoryStatus().state == .stale)
        // The file is updated: the next sync binds with it, no restart.
        try "rotated-secret\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        #expect(try await gatehouse.syncDirectory(actor: "test").plan.updated.map(\.changes) == [["name"]])
        #expect(try await gatehouse.directoryStatus().state == .fresh)
        // A file gone: a clear error naming the setting, never the old password; nothing changed.
        try FileManager.default.removeItem(atPath: passwordFile)
        let report = try await gatehouse.testDirectory()
        #expect(report.error?.message.contains("cannot read ldap.bind_password_file") == true, "\(String(describing: report.error))")
        #expect(report.error?.message.contains("rotated-secret") == false)
    }

    @Test("StartTLS and ldaps:// with a generated CA; a certificate from another CA is refused")
    func tls() async throws {
        let dir = try TempDir()
        let tls = try TLS.make(in: dir)
        let slapd = try Slapd(ldif: DirectoryFixture.ldif, tls: tls)

        var startTLS = slapd.configuration()
        startTLS.startTLS = true
        startTLS.caFile = tls.caFile
        let (_, gatehouse, _) = try await gatehouseWithLicense(directory: startTLS)
        let probe = try await gatehouse.testDirectory()
        #expect(probe.error == nil && probe.probe?.people == 7)
        #expect(try await gatehouse.syncDirectory(actor: "test").plan.added.count == 7)

        var ldaps = startTLS
        ldaps.url = slapd.tlsURL
        ldaps.startTLS = false
        let (_, overLDAPS, _) = try await gatehouseWithLicense(directory: ldaps)
        #expect(try await overLDAPS.testDirectory().probe?.groups == 5)

        let other = try TLS.make(in: try TempDir(), commonName: "Some Other CA")
        var untrusted = startTLS
        untrusted.caFile = other.caFile
        let (_, refused, _) = try await gatehouseWithLicense(directory: untrusted)
        let failure = try await refused.testDirectory()
        #expect(failure.error?.code == DirectoryError.Code.tls.rawValue)
    }
}
