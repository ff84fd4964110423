import Foundation
import GatehouseDomain
import Testing

/// The pure egress rules: URL parsing, host normalisation, IP forms, address classes, rules.
@Suite("Egress rules")
struct EgressRulesTests {
    static let policy: EgressPolicy = {
        var p = EgressPolicy()
        p.rules = [
            EgressRule(name: "github", hosts: [try! HostPattern.parse("api.github.com").get(), try! HostPattern.parse("*.githubusercontent.com").get()], ports: [443]),
            EgressRule(name: "slack", hosts: [try! HostPattern.parse("hooks.slack.com").get()], ports: [443]),
            EgressRule(name: "idn", hosts: [try! HostPattern.parse("bücher.example").get()], ports: [443]),
        ]
        p.allowCIDRs = [CIDR.parse("203.0.113.0/24")!]
        return p
    }()

    /// Decides a URL before resolution, as `egress check` and the API do.
    static func verdict(_ url: String) -> EgressVerdict {
        switch EgressTarget.parse(url: url) {
        case .failure(let refusal): return .deny(.destinationNotAllowed, refusal.message)
        case .success(let target): return EgressDecider.decide(host: target.host, port: target.port, policy: policy)
        }
    }

    @Test("Allowed destinations", arguments: [
        "https://api.github.com/repos", "https://API.GitHub.com./x", "https://raw.githubusercontent.com/a", "https://a.b.githubusercontent.com",
        "https://hooks.slack.com:443/services/x", "https://user:pw@hooks.slack.com/", "https://xn--bcher-kva.example/", "https://BÜCHER.example/",
        "https://203.0.113.7/", "https://[::ffff:203.0.113.7]/",
    ])
    func allowed(url: String) {
        let v = Self.verdict(url)
        #expect(v.allow, "\(url): \(v.detail)")
    }

    @Test("Bypass attempts before resolution are refused", arguments: [
        // IP literals in every spelling a resolver accepts.
        ("http://127.0.0.1/", DecisionReason.ipLiteralNotAllowed), ("http://127.1/", .ipLiteralNotAllowed), ("http://2130706433/", .ipLiteralNotAllowed),
        ("http://0x7f000001/", .ipLiteralNotAllowed), ("http://0177.0.0.1/", .ipLiteralNotAllowed), ("http://0x7f.1/", .ipLiteralNotAllowed),
        ("http://017700000001/", .ipLiteralNotAllowed), ("http://127.0.0.1./", .ipLiteralNotAllowed), ("http://0/", .ipLiteralNotAllowed),
        ("http://[::1]/", .ipLiteralNotAllowed), ("http://[::ffff:127.0.0.1]/", .ipLiteralNotAllowed), ("http://[::ffff:7f00:1]/", .ipLiteralNotAllowed),
        ("http://[::127.0.0.1]/", .ipLiteralNotAllowed), ("http://[64:ff9b::7f00:1]/", .ipLiteralNotAllowed), ("http://[2002:7f00:1::]/", .ipLiteralNotAllowed),
        ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", .ipLiteralNotAllowed), ("http://[fe80::1%25eth0]/", .ipLiteralNotAllowed),
        ("http://169.254.169.254/latest/meta-data", .ipLiteralNotAllowed), ("http://[fd00:ec2::254]/", .ipLiteralNotAllowed),
        ("http://8.8.8.8/", .ipLiteralNotAllowed), ("http://203.0.114.1/", .ipLiteralNotAllowed),
        // Names: not in any rule, the apex of a wildcard, look-alikes, userinfo tricks.
        ("https://evil.com/", .destinationNotAllowed), ("https://githubusercontent.com/", .destinationNotAllowed),
        ("https://api.github.com.evil.com/", .destinationNotAllowed), ("https://evilapi.github.com/", .destinationNotAllowed),
        ("https://api.github.com@evil.com/", .destinationNotAllowed), ("https://hooks.slack.com:443@evil.com/", .destinationNotAllowed),
        ("https://evil.com#@api.github.com/", .destinationNotAllowed), ("https://evil.com?@api.github.com/", .destinationNotAllowed),
        ("https://evil.com\\@api.github.com/", .destinationNotAllowed), ("https://api.github.com%2eevil.com/", .destinationNotAllowed),
        ("https://api%2egithub%2ecom/", .destinationNotAllowed), ("https://localhost/", .destinationNotAllowed),
        ("https://api.github.com\u{3002}evil.com/", .destinationNotAllowed), ("https://ａｐｉ.github.com.evil.com/", .destinationNotAllowed),
        ("https://api.github.com../", .destinationNotAllowed), ("https://" + String(repeating: "a.", count: 130) + "github.com/", .destinationNotAllowed),
        ("https://" + String(repeating: "a", count: 64) + ".githubusercontent.com/", .destinationNotAllowed),
        ("ftp://api.github.com/", .destinationNotAllowed), ("file:///etc/passwd", .destinationNotAllowed), ("gopher://api.github.com:443/", .destinationNotAllowed),
        // Allowed names on other ports.
        ("http://api.github.com/", .portNotAllowed), ("https://api.github.com:22/", .portNotAllowed), ("https://api.github.com:8443/", .portNotAllowed),
        ("https://api.github.com:0443x/", .destinationNotAllowed), ("https://api.github.com:65536/", .destinationNotAllowed),
    ])
    func refusedBeforeResolution(url: String, reason: DecisionReason) {
        let v = Self.verdict(url)
        #expect(!v.allow && v.reason == reason, "\(url): \(v.reason.rawValue) \(v.detail)")
    }

    @Test("Every address a name resolves to is checked; one private address refuses it", arguments: [
        ("127.0.0.1", AddressClass.loopback), ("10.1.2.3", .private), ("172.16.0.1", .private), ("192.168.1.1", .private),
        ("169.254.169.254", .metadata), ("169.254.1.1", .linkLocal), ("100.64.0.1", .cgnat), ("224.0.0.1", .multicast),
        ("255.255.255.255", .broadcast), ("192.0.2.1", .documentation), ("198.18.0.1", .benchmarking), ("240.0.0.1", .reserved),
        ("0.0.0.0", .unspecified), ("::1", .loopback), ("::", .unspecified), ("::ffff:10.0.0.1", .private), ("64:ff9b::a9fe:a9fe", .metadata),
        ("2002:c0a8:101::1", .private), ("2001:0:4136:e378:8000:63bf:3fff:fdd2", .documentation), ("fd00:ec2::254", .metadata), ("fc00::1", .private),
        ("fe80::1", .linkLocal), ("ff02::1", .multicast), ("2001:db8::1", .documentation), ("8.8.8.8", .public), ("2606:4700::1111", .public),
    ])
    func classification(address: String, expected: AddressClass) {
        let ip = IPAddress.parse(address)!
        #expect(ip.classification == expected, "\(address) is \(ip.classification)")
        if expected != .public {
            let v = EgressDecider.check(addresses: [.v4(0x0808_0808), ip], for: "x.example", policy: Self.policy)
            #expect(v?.reason == .resolvesToPrivateAddress)
        }
    }

    @Test("Teredo carries two IPv4 addresses; a private client refuses it")
    func teredo() {
        // Client 10.0.0.1 inverted is f5ff:fffe.
        let ip = IPAddress.parse("2001:0:4136:e378:8000:63bf:f5ff:fffe")!
        #expect(ip.embeddedV4.contains(0x0A00_0001))
        #expect(ip.classification == .private)
    }

    @Test("allow_cidrs lets chosen private networks through")
    func allowCIDRs() {
        var policy = Self.policy
        policy.allowCIDRs.append(CIDR.parse("10.20.0.0/16")!)
        #expect(EgressDecider.check(addresses: [IPAddress.parse("10.20.3.4")!], for: "git.internal", policy: policy) == nil)
        #expect(EgressDecider.check(addresses: [IPAddress.parse("::ffff:10.20.3.4")!], for: "git.internal", policy: policy) == nil)
        #expect(EgressDecider.check(addresses: [IPAddress.parse("10.21.0.1")!], for: "git.internal", policy: policy)?.reason == .resolvesToPrivateAddress)
    }

    @Test("Host patterns: bad globs are errors", arguments: ["*", "a*.b", "*.*.x", "*.com", "*.", "api.*.com", "10.0.0.1", "exa mple.com", "-a.com"])
    func badPatterns(text: String) {
        if case .success(let p) = HostPattern.parse(text) { Issue.record("\(text) parsed as \(p)") }
    }

    @Test("Punycode matches RFC 3492's samples")
    func punycode() throws {
        #expect(try EgressHost.normalise("bücher.example").get() == .name("xn--bcher-kva.example"))
        #expect(try EgressHost.normalise("例え.テスト").get() == .name("xn--r8jz45g.xn--zckzah"))
        #expect(try EgressHost.normalise("MÜNCHEN.de.").get() == .name("xn--mnchen-3ya.de"))
    }

    @Test("ASCII hosts are lowered letter by letter, as the Unicode path would lower them")
    func asciiHosts() throws {
        let hosts = ["API.GitHub.COM.", "az-AZ_09.Example", "Hooks.Slack.com", "[::FFFF:7F00:1]", "127.0.0.1", "0X7F.1"]
        for host in hosts {
            let unicode = host.precomposedStringWithCompatibilityMapping.lowercased()
            #expect(try EgressHost.normalise(host).get() == EgressHost.normalise(unicode).get(), "\(host)")
        }
        #expect(try EgressHost.normalise("API.GitHub.COM.").get() == .name("api.github.com"))
        // "@" and "[" sit either side of A–Z: they are not letters and are not changed (so refused).
        for host in ["a@b.com", "a[b.com", "a`b.com", "a{b.com"] {
            #expect(throws: EgressRefusal.self) { try EgressHost.normalise(host).get() }
        }
    }
}
