import Foundation

/// A server certificate and the CA that signed it, made by the real openssl CLI for a test's
/// TLS servers (slapd, PostgreSQL).
struct TLS {
    var caFile: String
    var certFile: String
    var keyFile: String

    /// Generates a CA and a server certificate whose subjectAltName is `names` (by default
    /// 127.0.0.1 and localhost).
    static func make(in dir: TempDir, commonName: String = "Gatehouse Test CA", names: String = "IP:127.0.0.1,DNS:localhost") throws -> TLS
    {
        let openssl = try requireProgram("openssl", package: "openssl")
        let ca = dir.file("ca.pem"), caKey = dir.file("ca.key"), key = dir.file("server.key"), csr = dir.file("server.csr"),
            cert = dir.file("server.pem")
        let ext = try dir.write("san.ext", "subjectAltName=\(names)\nbasicConstraints=CA:FALSE\n")
        let steps: [[String]] = [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "2", "-subj", "/CN=\(commonName)"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=gatehouse-test-server"],
            ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
        ]
        for step in steps {
            let result = try run(openssl, step)
            guard result.status == 0 else { throw MissingProgram(message: "openssl \(step[0]) failed: \(result.stderr)") }
        }
        return TLS(caFile: ca, certFile: cert, keyFile: key)
    }
}
