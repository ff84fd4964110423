import Foundation
import GatehouseDomain
import NIOHTTP1

/// A real OpenID Connect provider (`oidc-provider-mock` from PyPI, authlib-based) on a free
/// loopback port. Its sign-in page is a form: POST `sub=<user>` signs that user in.
final class OIDCProviderMock: Sendable {
    let process: ExternalProcess
    let port: Int
    var issuer: String { "http://127.0.0.1:\(port)" }

    init(in dir: TempDir, tokenMaxAge: Int? = nil) async throws {
        let python = try requireVenvProgram("python", package: "oidc-provider-mock")
        port = try freeLoopbackPort()
        var arguments = ["-m", "oidc_provider_mock", "-p", String(port), "-n", "true"]
        if let tokenMaxAge { arguments += ["-e", String(tokenMaxAge)] }
        // authlib refuses plain http unless told this is a test.
        process = try ExternalProcess(
            python, arguments, log: dir.file("oidc-\(port).log"),
            environment: ["AUTHLIB_INSECURE_TRANSPORT": "1", "PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()])
        guard
            try await eventually(
                20,
                {
                    (try? await HTTPProbe.request(.GET, "http://127.0.0.1:\(port)/.well-known/openid-configuration"))?.status == 200
                })
        else { throw MissingProgram(message: "oidc-provider-mock did not start: \(process.output)") }
    }

    /// Sets a user's claims (`preferred_username`, `email`, `groups`…).
    func setUser(_ sub: String, _ claims: JSONValue) async throws {
        let answer = try await HTTPProbe.request(
            .PUT, "\(issuer)/users/\(sub)", headers: [("Content-Type", "application/json")], body: claims.canonicalText)
        guard answer.status == 204 else {
            throw MissingProgram(message: "oidc-provider-mock refused user \(sub): \(answer.status) \(answer.body)")
        }
    }

    /// Signs `sub` in at an authorization URL (what the form does); the redirect back.
    func authorize(_ url: String, as sub: String) async throws -> String {
        let answer = try await HTTPProbe.post(url, form: [("sub", sub)])
        guard answer.status == 302, let location = answer.location else {
            throw MissingProgram(message: "the provider did not redirect back: \(answer.status) \(answer.body.prefix(300))")
        }
        return location
    }
}

/// A reverse proxy from deploy/, started for real in front of Gatehouse replicas and an upstream.
final class GateProxy: Sendable {
    enum Kind: String, Sendable { case nginx, haproxy, caddy }

    let kind: Kind
    let port: Int
    let process: ExternalProcess
    var base: String { "http://127.0.0.1:\(port)" }

    /// - Parameters:
    ///   - replicas: the Gatehouse replicas (their API and forward-auth ports).
    ///   - port: where the proxy listens (the gate's public URL), chosen beforehand.
    init(_ kind: Kind, in dir: TempDir, port: Int, replicas: [Replica], upstream: Int) async throws {
        let api = replicas.map(\.port), auth = replicas.map(\.gatePort)
        self.kind = kind
        self.port = port
        let work = dir.file("\(kind.rawValue)-\(port)")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        switch kind {
        case .nginx:
            let nginx = try requireProgram("nginx", package: "nginx")
            let conf = """
                pid \(work)/nginx.pid;
                error_log \(work)/error.log info;
                worker_processes 1;
                events { worker_connections 1024; }
                http {
                    access_log off;
                    client_body_temp_path \(work)/body;
                    proxy_temp_path \(work)/proxy;
                    fastcgi_temp_path \(work)/fastcgi;
                    uwsgi_temp_path \(work)/uwsgi;
                    scgi_temp_path \(work)/scgi;
                    upstream gatehouse {
                \(api.map { "        server 127.0.0.1:\($0) max_fails=1 fail_timeout=10s;" }.joined(separator: "\n"))
                        keepalive 16;
                    }
                    upstream gatehouse_auth {
                \(auth.map { "        server 127.0.0.1:\($0) max_fails=1 fail_timeout=10s;" }.joined(separator: "\n"))
                        keepalive 16;
                    }
                    upstream codecov { server 127.0.0.1:\(upstream); }
                    server {
                        listen 127.0.0.1:\(port);
                        include \(repositoryRoot)/deploy/nginx/gatehouse-locations.conf;
                    }
                }
                """
            let path = try dir.write("\(kind.rawValue)-\(port)/nginx.conf", conf)
            process = try ExternalProcess(nginx, ["-p", work, "-c", path, "-g", "daemon off;"], log: work + "/stderr.log")
        case .haproxy:
            let haproxy = try requireProgram("haproxy", package: "haproxy")
            let authPort = try freeLoopbackPort()
            var conf = try String(contentsOfFile: repositoryRoot + "/deploy/haproxy/haproxy.cfg", encoding: .utf8)
            // The recipe as shipped, with this test's addresses in place of the example ones.
            let replacements: [(String, String)] = [
                (
                    "    lua-load /etc/haproxy/gatehouse.lua",
                    "    lua-load \(repositoryRoot)/deploy/haproxy/gatehouse.lua\n    pidfile \(work)/haproxy.pid"
                ),
                ("    bind :443 ssl crt /etc/ssl/codecov.acme.internal.pem\n    bind :80\n", "    bind 127.0.0.1:\(port)\n"),
                ("    http-request redirect scheme https code 301 unless { ssl_fc }\n", ""),
                ("    bind 127.0.0.1:9099", "    bind 127.0.0.1:\(authPort)"),
                ("    server codecov 10.0.0.30:8080", "    server codecov 127.0.0.1:\(upstream)"),
            ]
            for (from, to) in replacements {
                guard conf.contains(from) else { throw MissingProgram(message: "deploy/haproxy/haproxy.cfg no longer contains \(from)") }
                conf = conf.replacingOccurrences(of: from, with: to)
            }
            for (ports, examplePort) in [(api, 8080), (auth, 8181)] {
                let servers = ports.enumerated().map {
                    "    server gatehouse\($0.offset + 1) 127.0.0.1:\($0.element) check inter 500ms fall 1 rise 1"
                }
                let example =
                    "    server gatehouse1 10.0.0.21:\(examplePort) check inter 2s fall 2 rise 1\n    server gatehouse2 10.0.0.22:\(examplePort) check inter 2s fall 2 rise 1"
                guard conf.contains(example) else {
                    throw MissingProgram(message: "deploy/haproxy/haproxy.cfg no longer lists the example replicas")
                }
                conf = conf.replacingOccurrences(of: example, with: servers.joined(separator: "\n"))
            }
            let path = try dir.write("\(kind.rawValue)-\(port)/haproxy.cfg", conf)
            process = try ExternalProcess(
                haproxy, ["-db", "-f", path], log: work + "/stderr.log",
                environment: ["GATEHOUSE_AUTH_URL": "http://127.0.0.1:\(authPort)", "PATH": "/usr/bin:/bin"])
        case .caddy:
            let caddy = try requireProgram("caddy", package: "caddy")
            let global = """
                {
                	admin off
                	auto_https off
                	storage file_system \(work)/storage
                }

                """
            let site = try String(contentsOfFile: repositoryRoot + "/deploy/caddy/Caddyfile", encoding: .utf8)
            let path = try dir.write("\(kind.rawValue)-\(port)/Caddyfile", global + site)
            process = try ExternalProcess(
                caddy, ["run", "--config", path, "--adapter", "caddyfile"], log: work + "/stderr.log",
                environment: [
                    "HOME": work, "XDG_DATA_HOME": work + "/data", "XDG_CONFIG_HOME": work + "/config", "PATH": "/usr/bin:/bin",
                    "CODECOV_SITE": "http://127.0.0.1:\(port)",
                    "GATEHOUSE_REPLICAS": api.map { "127.0.0.1:\($0)" }.joined(separator: " "),
                    "GATEHOUSE_AUTH": auth.map { "127.0.0.1:\($0)" }.joined(separator: " "),
                    "CODECOV_UPSTREAM": "127.0.0.1:\(upstream)",
                ])
        }
        do { try waitForPort(port) } catch { throw MissingProgram(message: "\(kind.rawValue) did not start: \(process.output)") }
        if kind == .haproxy {
            // Health checks must mark the replicas up before the first question.
            try await Task.sleep(for: .milliseconds(700))
        }
    }
}

/// Headless Chromium driven over WebDriver (Debian's chromium and chromium-driver).
final class Browser: Sendable {
    let driver: ExternalProcess
    let port: Int
    let session: String
    var base: String { "http://127.0.0.1:\(port)/session/\(session)" }

    init(in dir: TempDir) async throws {
        let chromedriver = try requireProgram("chromedriver", package: "chromium-driver")
        _ = try requireProgram("chromium", package: "chromium")
        port = try freeLoopbackPort()
        driver = try ExternalProcess(chromedriver, ["--port=\(port)"], log: dir.file("chromedriver-\(port).log"))
        try waitForPort(port)
        let capabilities: JSONValue = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            .string("--user-data-dir=" + dir.file("chrome-\(port)")),
                        ],
                    ],
                ]
            ]
        ]
        let answer = try await Self.call(.POST, "http://127.0.0.1:\(port)/session", capabilities)
        guard case .string(let id)? = answer["sessionId"] else { throw MissingProgram(message: "chromedriver gave no session: \(answer)") }
        session = id
    }

    @discardableResult
    static func call(_ method: HTTPMethod, _ url: String, _ body: JSONValue? = nil) async throws -> JSONValue {
        let answer = try await HTTPProbe.request(
            method, url, headers: [("Content-Type", "application/json")], body: body?.canonicalText ?? (method == .POST ? "{}" : nil))
        let json = try JSONValue.parse(answer.body)
        if case .object(let error)? = json["value"], let message = error["message"], error["error"] != nil {
            throw MissingProgram(message: "WebDriver: \(message)")
        }
        return json["value"] ?? .null
    }

    func go(_ url: String) async throws { try await Self.call(.POST, base + "/url", ["url": .string(url)]) }

    var url: String { get async throws { (try await Self.call(.GET, base + "/url")).string } }
    var source: String { get async throws { (try await Self.call(.GET, base + "/source")).string } }
    /// The visible text of the page.
    var text: String {
        get async throws {
            let body = try await element("body")
            return (try await Self.call(.GET, base + "/element/\(body)/text")).string
        }
    }

    func element(_ css: String) async throws -> String {
        let found = try await Self.call(.POST, base + "/element", ["using": "css selector", "value": .string(css)])
        guard case .object(let fields) = found, let id = fields.values.first?.string, !id.isEmpty else {
            throw MissingProgram(message: "no element \(css) on \(try await url)")
        }
        return id
    }

    func type(_ css: String, _ text: String) async throws {
        try await Self.call(.POST, base + "/element/\(try await element(css))/value", ["text": .string(text)])
    }

    func click(_ css: String) async throws { try await Self.call(.POST, base + "/element/\(try await element(css))/click") }

    /// Saves what the browser shows as a PNG (a test artifact to look at).
    func screenshot(to path: String) async throws {
        let encoded = (try await Self.call(.GET, base + "/screenshot")).string
        guard let data = Data(base64Encoded: encoded) else { throw MissingProgram(message: "WebDriver sent no screenshot") }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// Waits until the page text contains `fragment`.
    func waitForText(_ fragment: String, seconds: Double = 10) async throws -> Bool {
        try await eventually(seconds) { (try? await text)?.contains(fragment) ?? false }
    }

    func quit() async {
        _ = try? await Self.call(.DELETE, base)
        driver.stop()
    }
}

extension JSONValue {
    var string: String { if case .string(let s) = self { s } else { "" } }
}
