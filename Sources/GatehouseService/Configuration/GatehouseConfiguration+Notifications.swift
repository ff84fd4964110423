import Foundation
import GatehouseDomain
import GatehouseNotify
import Yams

/// One place notifications go (`notifications:` in gatehouse.yml, SPEC section 12).
public struct NotificationChannel: Sendable {
    public enum Kind: Sendable {
        /// A Slack incoming webhook; its URL is a secret (read from `url_file`).
        case slack(url: String)
        /// A generic webhook, signed with `secret` (`X-Gatehouse-Signature`).
        case webhook(url: String, secret: String)
        case email(to: [String], smtp: SMTPSettings)

        public var name: String {
            switch self {
            case .slack: "slack"
            case .webhook: "webhook"
            case .email: "email"
            }
        }
    }

    public var name: String
    public var kind: Kind
    public var interest: NotificationInterest
    /// Trusted CAs for an https webhook on an internal CA (default: the system's).
    public var caFile: String?

    public init(name: String, kind: Kind, interest: NotificationInterest = NotificationInterest(), caFile: String? = nil) {
        self.name = name
        self.kind = kind
        self.interest = interest
        self.caFile = caFile
    }

    /// Where it goes, for listings: a host, never a webhook's path (Slack's holds its secret).
    public var destination: String {
        switch kind {
        case .slack(let url), .webhook(let url, _): EgressTarget.redacted(url)
        case .email(let to, let smtp): "\(to.joined(separator: ", ")) via \(smtp.host):\(smtp.port)"
        }
    }
}

extension GatehouseConfiguration {
    static let notificationKeys: Set<String> = [
        "name", "kind", "url", "url_file", "secret_file", "to", "smtp", "events", "seat_thresholds", "expiring_days", "ca_file",
    ]
    static let smtpKeys: Set<String> = ["host", "port", "starttls", "tls", "username", "password_file", "from", "ca_file"]

    /// Reads `notifications:`, a list of channels. Secrets (a Slack URL, a webhook's signing
    /// secret, the SMTP password) come from files, so that the configuration can be shared.
    mutating func applyNotifications(_ node: Node?, reader: inout YAMLReader, file: String) {
        var names = Set<String>()
        for (i, entry) in reader.sequence(node, "notifications").enumerated() {
            let path = "notifications[\(i)]"
            let fields = reader.mapping(entry, path, allowed: Self.notificationKeys)
            guard let name = reader.string(fields["name"], "\(path).name"), Self.isChannelName(name) else {
                reader.problem(entry, "\(path).name", "a name of letters, digits, - and _ is required")
                continue
            }
            guard names.insert(name).inserted else {
                reader.problem(fields["name"], "\(path).name", "\"\(name)\" is used by another channel")
                continue
            }
            let at = "notifications \(name)"
            func secret(_ key: String) -> String? {
                guard let value = reader.string(fields[key], "\(at).\(key)") else { return nil }
                let resolved = Self.resolve(value, relativeTo: file)
                guard let data = FileManager.default.contents(atPath: resolved), let text = String(data: data, encoding: .utf8),
                    !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
                else {
                    reader.problem(fields[key], "\(at).\(key)", "cannot read \(resolved)")
                    return nil
                }
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            func url(_ text: String?, _ key: String) -> String? {
                guard let text else { return nil }
                guard case .success = EgressTarget.parse(url: text), text.lowercased().hasPrefix("http") else {
                    reader.problem(fields[key], "\(at).\(key)", "expected an http:// or https:// URL with a host")
                    return nil
                }
                return text
            }
            // Every field is read before any is found wanting, so that all problems are reported at once.
            var interest = NotificationInterest()
            if fields["events"] != nil {
                var events = Set<NotificationEvent>()
                for item in reader.sequence(fields["events"], "\(at).events") {
                    guard let text = reader.string(item, "\(at).events"), let event = NotificationEvent(rawValue: text) else {
                        reader.problem(
                            item, "\(at).events",
                            "unknown event (expected: \(NotificationEvent.allCases.map(\.rawValue).joined(separator: ", ")))")
                        continue
                    }
                    events.insert(event)
                }
                interest.events = events
            }
            if fields["seat_thresholds"] != nil {
                interest.seatThresholds = reader.sequence(fields["seat_thresholds"], "\(at).seat_thresholds")
                    .compactMap { reader.integer($0, "\(at).seat_thresholds", in: 1...1000) }.sorted()
            }
            if fields["expiring_days"] != nil {
                interest.expiringDays = reader.sequence(fields["expiring_days"], "\(at).expiring_days")
                    .compactMap { reader.integer($0, "\(at).expiring_days", in: 0...3650) }.sorted()
            }
            let kind: NotificationChannel.Kind
            switch reader.string(fields["kind"], "\(at).kind") {
            case "slack":
                let direct = reader.string(fields["url"], "\(at).url")
                if direct != nil { reader.problem(fields["url"], "\(at).url", "a Slack webhook URL is a secret: give it in url_file") }
                guard let target = url(secret("url_file"), "url_file") else {
                    if fields["url_file"] == nil { reader.problem(entry, at, "url_file is required for kind slack") }
                    continue
                }
                kind = .slack(url: target)
            case "webhook":
                guard let target = url(reader.string(fields["url"], "\(at).url"), "url") else {
                    if fields["url"] == nil { reader.problem(entry, at, "url is required for kind webhook") }
                    continue
                }
                guard let key = secret("secret_file") else {
                    if fields["secret_file"] == nil {
                        reader.problem(entry, at, "secret_file is required for kind webhook (the signing secret)")
                    }
                    continue
                }
                kind = .webhook(url: target, secret: key)
            case "email":
                let to = reader.sequence(fields["to"], "\(at).to").compactMap { reader.string($0, "\(at).to") }
                let bad = to.filter { !Self.isMailAddress($0) }
                if to.isEmpty { reader.problem(entry, "\(at).to", "at least one address is required") }
                if !bad.isEmpty { reader.problem(fields["to"], "\(at).to", "not e-mail addresses: \(bad.joined(separator: ", "))") }
                guard let smtp = smtpSettings(fields["smtp"], at: "\(at).smtp", reader: &reader, file: file), !to.isEmpty, bad.isEmpty
                else {
                    continue
                }
                kind = .email(to: to, smtp: smtp)
            case let other:
                reader.problem(
                    fields["kind"], "\(at).kind", "expected slack, email or webhook, got \(other.map { "\"\($0)\"" } ?? "nothing")")
                continue
            }
            let caFile = reader.string(fields["ca_file"], "\(at).ca_file").map { Self.resolve($0, relativeTo: file) }
            notifications.append(NotificationChannel(name: name, kind: kind, interest: interest, caFile: caFile))
        }
    }

    private func smtpSettings(_ node: Node?, at: String, reader: inout YAMLReader, file: String) -> SMTPSettings? {
        guard node != nil else {
            reader.problem(node, at, "smtp: {host, from, …} is required for kind email")
            return nil
        }
        let fields = reader.mapping(node, at, allowed: Self.smtpKeys)
        guard let host = reader.string(fields["host"], "\(at).host"), !host.isEmpty,
            let from = reader.string(fields["from"], "\(at).from")
        else {
            reader.problem(node, at, "host and from are required")
            return nil
        }
        guard Self.isMailAddress(from) else {
            reader.problem(fields["from"], "\(at).from", "not an e-mail address")
            return nil
        }
        let tls = reader.bool(fields["tls"], "\(at).tls") ?? false
        let starttls = reader.bool(fields["starttls"], "\(at).starttls") ?? !tls
        if tls && starttls {
            reader.problem(node, at, "choose one of tls (TLS from the start, port 465) and starttls (port 587)")
            return nil
        }
        var settings = SMTPSettings(
            host: host, port: reader.integer(fields["port"], "\(at).port", in: 1...65535) ?? (tls ? 465 : 587),
            security: tls ? .tls : starttls ? .starttls : .none, from: from)
        settings.caFile = reader.string(fields["ca_file"], "\(at).ca_file").map { Self.resolve($0, relativeTo: file) }
        settings.username = reader.string(fields["username"], "\(at).username")
        if let passwordFile = reader.string(fields["password_file"], "\(at).password_file") {
            let resolved = Self.resolve(passwordFile, relativeTo: file)
            guard let data = FileManager.default.contents(atPath: resolved), let text = String(data: data, encoding: .utf8) else {
                reader.problem(fields["password_file"], "\(at).password_file", "cannot read \(resolved)")
                return nil
            }
            settings.password = text.trimmingCharacters(in: .newlines)
        }
        if settings.username != nil, settings.password == nil {
            reader.problem(node, at, "username needs password_file")
            return nil
        }
        if settings.username != nil, settings.security == .none {
            reader.problem(node, at, "a password is never sent unencrypted: use starttls: true or tls: true with username")
            return nil
        }
        return settings
    }

    static func isChannelName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64
            && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }
    }

    /// `local@domain`, with nothing that could end a header or an SMTP command.
    static func isMailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && text.count <= 254
            && !text.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7f || "<>,;\"".unicodeScalars.contains($0) }
    }
}
