import Foundation
import Testing

/// TLS to PostgreSQL (`sslmode`, `sslrootcert` in the database URL) against a real server that
/// accepts TLS connections only, through the CLI as an administrator would use it.
@Suite("TLS to PostgreSQL", .serialized)
struct PostgresTLSTests {
    @Test("verify-full with the server's CA connects over TLS; another CA, a certificate for another name, or no TLS are refused")
    func verifiedConnection() throws {
        let certificates = try TempDir()
        let tls = try TLS.make(in: certificates)
        let cluster = try PostgresCluster(tls: tls)
        let cli = try CLI()
        try cluster.psql("CREATE DATABASE tls")
        let base = "postgres://gatehouse@127.0.0.1:\(cluster.port)/tls"

        // The server refuses anything but TLS, so a working migrate and seat proves TLS.
        let verified = "\(base)?sslmode=verify-full&sslrootcert=\(tls.caFile)"
        try cli("migrate", "--database", verified).expectSuccess()
        try cli("seats", "status", "--database", verified).expectSuccess()
        try cli("audit", "verify", "--database", verified).expectSuccess()
        try cli("migrate", "--database", "\(base)?sslmode=verify-ca&sslrootcert=\(tls.caFile)").expectSuccess()
        try cli("migrate", "--database", "\(base)?sslmode=require").expectSuccess()
        try cli("migrate", "--database", base).expectSuccess()  // prefer: TLS when offered
        // Without TLS the server says no.
        try cli("migrate", "--database", "\(base)?sslmode=disable").expectCleanFailure("cannot connect to PostgreSQL")

        // A certificate signed by a CA the URL does not trust: refused under verify-ca and verify-full.
        let other = try TLS.make(in: try TempDir(), commonName: "Some Other CA")
        for mode in ["verify-ca", "verify-full"] {
            let refused = try cli("migrate", "--database", "\(base)?sslmode=\(mode)&sslrootcert=\(other.caFile)")
            refused.expectCleanFailure("the server's TLS certificate is not signed by the CA in \(other.caFile)")
        }
        // A CA file that does not exist is named.
        try cli("migrate", "--database", "\(base)?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem").expectCleanFailure(
            "/nonexistent/ca.pem")
    }

    @Test("verify-full checks the server's name; verify-ca does not")
    func hostName() throws {
        let certificates = try TempDir()
        let tls = try TLS.make(in: certificates, names: "DNS:db.elsewhere.example")
        let cluster = try PostgresCluster(tls: tls)
        let cli = try CLI()
        try cluster.psql("CREATE DATABASE tls")
        let base = "postgres://gatehouse@127.0.0.1:\(cluster.port)/tls?sslrootcert=\(tls.caFile)"

        try cli("migrate", "--database", "\(base)&sslmode=verify-ca").expectSuccess()
        try cli("migrate", "--database", "\(base)&sslmode=verify-full").expectCleanFailure(
            "the server's TLS certificate does not name 127.0.0.1")
    }

    @Test("sslmode=require against a server without TLS is refused")
    func requireWithoutTLS() throws {
        let cli = try CLI()
        let url = try PostgresCluster.shared.get().createDatabase().replacingOccurrences(of: "sslmode=disable", with: "sslmode=require")
        try cli("migrate", "--database", url).expectCleanFailure("the server does not offer TLS, which sslmode=require requires")
    }
}
