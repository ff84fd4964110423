import Foundation
import GatehouseDirectory
import Synchronization

/// A throwaway OpenLDAP server for one test: its own config, database and port in a temp
/// directory, filled from LDIF with `slapadd` before it starts, stopped when released.
final class Slapd: @unchecked Sendable {  // the process handle is only touched by the owning test
    static let suffix = "dc=acme,dc=com"
    static let rootDN = "cn=admin,dc=acme,dc=com"
    static let rootPassword = "root-secret"
    /// The service account Gatehouse binds as (size limits apply to it; not to the rootdn).
    static let serviceDN = "cn=gatehouse,ou=services,dc=acme,dc=com"
    static let servicePassword = "gatehouse-secret"

    let dir: TempDir
    let port: Int
    let tlsPort: Int
    private let process: Process

    /// TLS files: a CA and a server certificate for 127.0.0.1/localhost, signed by it.
    /// - Parameters:
    ///   - ldif: entries below the base entries (ou=people, ou=groups, ou=services and the
    ///     service account are always there).
    ///   - sizeLimit: the service account's size limit; beyond it only paged searches read on.
    init(ldif: String, sizeLimit: Int? = nil, tls: TLS? = nil) throws {
        let slapd = try requireProgram("slapd", package: "slapd")
        let slapadd = try requireProgram("slapadd", package: "slapd")
        let slappasswd = try requireProgram("slappasswd", package: "slapd")
        dir = try TempDir()
        port = try freeLoopbackPort()
        tlsPort = try freeLoopbackPort()
        let hash = { (pw: String) throws -> String in
            try run(slappasswd, ["-s", pw]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try FileManager.default.createDirectory(atPath: dir.file("db"), withIntermediateDirectories: true)
        var conf = """
            include /etc/ldap/schema/core.schema
            include /etc/ldap/schema/cosine.schema
            include /etc/ldap/schema/nis.schema
            include /etc/ldap/schema/inetorgperson.schema
            modulepath /usr/lib/ldap
            moduleload back_mdb
            pidfile \(dir.file("slapd.pid"))

            """
        if let tls {
            conf += "TLSCACertificateFile \(tls.caFile)\nTLSCertificateFile \(tls.certFile)\nTLSCertificateKeyFile \(tls.keyFile)\n"
        }
        conf += """
            database mdb
            maxsize 1073741824
            suffix "\(Self.suffix)"
            rootdn "\(Self.rootDN)"
            rootpw \(try hash(Self.rootPassword))
            directory \(dir.file("db"))
            index uid eq
            index objectClass eq

            """
        if let sizeLimit {
            conf += "limits dn.exact=\"\(Self.serviceDN)\" size.soft=\(sizeLimit) size.hard=\(sizeLimit) size.prtotal=unlimited\n"
        }
        conf += """
            access to attrs=userPassword
                by self write
                by anonymous auth
                by * none
            access to *
                by * read

            """
        let confPath = try dir.write("slapd.conf", conf)
        let base = """
            dn: \(Self.suffix)
            objectClass: dcObject
            objectClass: organization
            dc: acme
            o: Acme

            dn: ou=people,\(Self.suffix)
            objectClass: organizationalUnit
            ou: people

            dn: ou=groups,\(Self.suffix)
            objectClass: organizationalUnit
            ou: groups

            dn: ou=services,\(Self.suffix)
            objectClass: organizationalUnit
            ou: services

            dn: \(Self.serviceDN)
            objectClass: organizationalRole
            objectClass: simpleSecurityObject
            cn: gatehouse
            userPassword: \(try hash(Self.servicePassword))


            """
        let ldifPath = try dir.write("data.ldif", base + ldif)
        let added = try run(slapadd, ["-q", "-f", confPath, "-l", ldifPath])
        guard added.status == 0 else { throw MissingProgram(message: "slapadd failed: \(added.stderr)") }

        process = Process()
        process.executableURL = URL(fileURLWithPath: slapd)
        let urls = "ldap://127.0.0.1:\(port)/" + (tls == nil ? "" : " ldaps://127.0.0.1:\(tlsPort)/")
        process.arguments = ["-f", confPath, "-h", urls, "-d", "0"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: try dir.write("slapd.log", ""))
        try process.run()
        try waitForPort(port)
        usleep(20_000)
        guard process.isRunning else { throw MissingProgram(message: "slapd exited at startup: see \(dir.file("slapd.log"))") }
    }

    deinit { stop() }

    var url: String { "ldap://127.0.0.1:\(port)" }
    var tlsURL: String { "ldaps://127.0.0.1:\(tlsPort)" }
    var pid: Int32 { process.processIdentifier }

    /// Settings for Gatehouse's service account.
    func configuration(pageSize: Int = 100) -> DirectoryConfiguration {
        var config = DirectoryConfiguration(url: url, userBase: "ou=people,\(Self.suffix)")
        config.bindDN = Self.serviceDN
        config.bindPassword = Self.servicePassword
        config.groupBase = "ou=groups,\(Self.suffix)"
        config.pageSize = pageSize
        config.timeout = 5
        return config
    }

    /// Runs an LDIF change (ldapmodify) as the root DN.
    func modify(_ ldif: String) throws {
        let ldapmodify = try requireProgram("ldapmodify", package: "ldap-utils")
        let result = try run(ldapmodify, ["-x", "-H", url, "-D", Self.rootDN, "-w", Self.rootPassword, "-c"], stdin: ldif)
        guard result.status == 0 else { throw MissingProgram(message: "ldapmodify failed: \(result.stderr)") }
    }

    /// Stops the server at once. SIGKILL, not SIGTERM: a child of the test runner inherits its
    /// blocked-signal mask, in which SIGTERM is blocked, so slapd would never see it.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Ports already handed out in this test process: tests run in parallel, and a port that was
/// free a moment ago must not be given to two servers (one would talk to the other's slapd).
private let handedOutPorts = Mutex<Set<Int>>([])

/// A loopback port nobody listens on right now, never the same twice in one test run.
func freeLoopbackPort() throws -> Int {
    for _ in 0..<100 {
        let port = try kernelFreePort()
        if handedOutPorts.withLock({ $0.insert(port).inserted }) { return port }
    }
    throw MissingProgram(message: "cannot find a free loopback port")
}

/// A port the kernel picks, bound a moment and let go.
private func kernelFreePort() throws -> Int { try RefusingPort().port }

/// A loopback port that refuses connections for as long as this is kept: bound, never
/// listening, so no other test running meanwhile can take it (a port freed by stopping a
/// server can be, and then answers).
final class RefusingPort {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else {
            close(fd)
            throw MissingProgram(message: "cannot bind a loopback port")
        }
        (self.fd, port) = (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    deinit { close(fd) }
}

/// Waits until something accepts connections on the loopback port (up to 10 s).
func waitForPort(_ port: Int) throws {
    for _ in 0..<1000 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        close(fd)
        if connected { return }
        usleep(10_000)
    }
    throw MissingProgram(message: "nothing listens on 127.0.0.1:\(port) after 10 s")
}
