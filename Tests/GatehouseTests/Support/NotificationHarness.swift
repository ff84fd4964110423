import Foundation
import GatehouseDomain
import HTTPTypes
import Hummingbird
import NIOHTTP1
import Synchronization

/// A real HTTP receiver on loopback (a Slack incoming webhook's stand-in, a generic webhook
/// receiver): remembers every POST with its headers and raw body. It can be stopped and
/// started again on the same port, as a receiver that was down comes back.
final class HookReceiver: Sendable {
    struct Delivery: Sendable {
        var path: String
        /// By lowercased name.
        var headers: [String: String]
        func header(_ name: String) -> String? { headers[name.lowercased()] }
        var body: [UInt8]
        var json: JSONValue? { try? JSONValue.parse(body) }
    }

    let port: Int
    private let server = Mutex<LiveServer?>(nil)
    private let seen = Mutex<[Delivery]>([])
    /// The status to answer with (a receiver that refuses).
    let status = Mutex<HTTPResponse.Status>(.ok)

    var url: String { "http://127.0.0.1:\(port)/hook" }
    var deliveries: [Delivery] { seen.withLock { $0 } }

    init() throws { port = try freeLoopbackPort() }

    func start() async throws {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            self.seen.withLock { $0.append(Delivery(path: request.uri.path, headers: headers, body: Array(buffer: body))) }
            return Response(status: self.status.withLock { $0 })
        }
        let live = try await LiveServer.start(router, port: port)
        server.withLock { $0 = live }
    }

    func stop() async {
        let live = server.withLock { s in
            defer { s = nil }; return s
        }
        live?.stop()
        // The listener is gone once a connection is refused.
        _ = try? await eventually(5) { (try? await HTTPProbe.request(.GET, "http://127.0.0.1:\(self.port)/")) == nil }
    }
}

/// A listener that takes connections and never answers: a receiver that hangs.
final class SilentListener: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let accepted = Box()
    final class Box: Sendable {
        let m = Mutex<[Int32]>([])
        func withLock<T>(_ body: (inout [Int32]) -> T) -> T { m.withLock { body(&$0) } }
    }
    var connections: Int { accepted.withLock { $0.count } }

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw MissingProgram(message: "cannot listen on loopback") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        fd = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        let accepted = self.accepted
        Thread {
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                accepted.withLock { $0.append(client) }
            }
        }.start()
    }

    /// Closes every connection (the sender sees the connection drop) and the listener.
    func close() {
        for client in accepted.withLock({ $0 }) { Glibc.close(client) }
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }
}

/// A real SMTP server: aiosmtpd (PyPI, in .venv-test) with STARTTLS required and AUTH
/// (PLAIN, LOGIN) checked against one user, writing each message it accepts as JSON — the
/// envelope, the decoded subject and text, whether it came over TLS and who logged in.
final class SMTPSink: Sendable {
    let process: ExternalProcess
    let port: Int
    let tls: TLS
    let outbox: String
    static let user = "gatehouse"
    static let password = "s3cret-pa55"

    static let script = #"""
        import asyncio, email, json, os, ssl, sys, threading
        from email import policy
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        port, out, cert, key, user, password, starttls = sys.argv[1:8]

        class Sink:
            def __init__(self):
                self.n = 0
            async def handle_DATA(self, server, session, envelope):
                msg = email.message_from_bytes(envelope.content, policy=policy.default)
                record = {
                    "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "subject": str(msg["subject"]),
                    "text": msg.get_content(), "headers": {k: str(v) for k, v in msg.items()},
                    "tls": session.ssl is not None, "authenticated": bool(session.authenticated),
                    "login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
                }
                self.n += 1
                path = os.path.join(out, "%04d.json" % self.n)
                with open(path + ".tmp", "w") as f:
                    json.dump(record, f)
                os.rename(path + ".tmp", path)
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        context = None
        if starttls == "yes":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
        controller = Controller(
            Sink(), hostname="127.0.0.1", port=int(port), tls_context=context, require_starttls=context is not None,
            authenticator=authenticator, auth_required=context is not None, auth_require_tls=True)
        controller.start()
        print("ready", flush=True)
        threading.Event().wait()
        """#

    /// - Parameter starttls: `false`: a server that offers neither STARTTLS nor AUTH.
    init(in dir: TempDir, starttls: Bool = true) async throws {
        let python = try requireVenvProgram("python", package: "aiosmtpd")
        port = try freeLoopbackPort()
        let work = dir.file("smtp-\(port)")
        outbox = work + "/out"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        tls = try TLS.make(in: try TempDir(), names: "DNS:localhost,IP:127.0.0.1")
        let script = work + "/sink.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        process = try ExternalProcess(
            python, [script, String(port), outbox, tls.certFile, tls.keyFile, Self.user, Self.password, starttls ? "yes" : "no"],
            log: work + "/log", environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()])
        let process = process
        // Python imports and a TLS context take a few seconds on a loaded machine.
        guard try await eventually(60, { process.output.contains("ready") }) else {
            throw MissingProgram(message: "aiosmtpd did not start: \(process.output)")
        }
    }

    /// The messages accepted so far, oldest first.
    var messages: [JSONValue] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: outbox)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return names.compactMap { name in
            FileManager.default.contents(atPath: outbox + "/" + name).flatMap { try? JSONValue.parse(Array($0)) }
        }
    }
}

/// An egress policy that lets Gatehouse reach receivers on loopback (listed in allow_cidrs).
let loopbackAllowedPolicy = """
    egress:
      mode: enforce
      deny_private_networks: true
      allow_cidrs: ["127.0.0.0/8"]
      rules:
        - {name: slack, hosts: ["hooks.slack.com"], ports: [443]}
    """
