import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// How to reach the mail server (`smtp:` of an e-mail channel).
public struct SMTPSettings: Sendable, Equatable {
    /// `starttls`: plain connection upgraded with STARTTLS (port 587), required when set;
    /// `tls`: TLS from the first byte (port 465); `none`: no encryption (then no password is sent).
    public enum Security: String, Sendable, CaseIterable { case starttls, tls, none }
    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    public var from: String
    /// Trusted CAs for the server's certificate (default: the system's).
    public var caFile: String?

    public init(
        host: String, port: Int = 587, security: Security = .starttls, username: String? = nil, password: String? = nil, from: String,
        caFile: String? = nil
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.from = from
        self.caFile = caFile
    }
}

/// One message for `SMTPClient.send`.
public struct Mail: Sendable {
    public var to: [String]
    public var subject: String
    public var text: String
    public var messageID: String
    public var date: Date
    public var headers: [(String, String)]

    public init(to: [String], subject: String, text: String, messageID: String, date: Date, headers: [(String, String)] = []) {
        self.to = to
        self.subject = subject
        self.text = text
        self.messageID = messageID
        self.date = date
        self.headers = headers
    }
}

/// A small SMTP client (RFC 5321) over SwiftNIO: EHLO, STARTTLS (RFC 3207), AUTH PLAIN or
/// LOGIN (RFC 4954), MAIL/RCPT/DATA, QUIT. Hand-written because no SMTP library is among this
/// project's dependencies and the protocol, for sending one text message, is a dozen lines of
/// dialogue (see docs/architecture.md). It never sends a password over an unencrypted
/// connection, and verifies the server's certificate against its name.
public enum SMTPClient {
    public static let timeout: Duration = .seconds(30)

    /// Delivers `mail` through the server at `address` (checked by the caller), speaking to it
    /// as `settings.host`.
    public static func send(_ mail: Mail, settings: SMTPSettings, address: String) async throws(NotifyError) {
        do {
            try await within(timeout, "\(settings.host):\(settings.port) did not finish within \(timeout)") {
                try await exchange(mail, settings: settings, address: address)
            }
        } catch let error as NotifyError {
            throw error
        } catch {
            throw NotifyError("\(settings.host):\(settings.port): \(HTTPNotifier.describe(error))")
        }
    }

    static func tlsHandler(_ settings: SMTPSettings) throws -> NIOSSLClientHandler {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile { tls.trustRoots = .file(caFile) }
        let context = try NIOSSLContext(configuration: tls)
        let isAddress = settings.host.contains(":") || settings.host.allSatisfy { $0.isNumber || $0 == "." }
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : settings.host)
    }

    private static func exchange(_ mail: Mail, settings: SMTPSettings, address: String) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: address, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let underlying = channel.channel
        // TLS from the first byte: the server says nothing before the handshake.
        if settings.security == .tls { try await startTLS(on: underlying, settings) }
        try await channel.executeThenClose { inbound, outbound in
            var session = SMTPSession(replies: ReplyReader(inbound.makeAsyncIterator()), outbound: outbound, host: settings.host)
            try await session.expect(220, what: "greeting")
            var capabilities = try await session.hello()
            var encrypted = settings.security == .tls
            if settings.security == .starttls {
                guard capabilities.contains("STARTTLS") else {
                    throw NotifyError("\(settings.host) does not offer STARTTLS; set security: tls or none in its smtp: settings")
                }
                try await session.command("STARTTLS", expect: 220)
                try await startTLS(on: underlying, settings)
                encrypted = true
                capabilities = try await session.hello()
            }
            if let username = settings.username {
                guard encrypted else { throw NotifyError("refusing to send the SMTP password to \(settings.host) unencrypted") }
                try await session.authenticate(username: username, password: settings.password ?? "", capabilities: capabilities)
            }
            try await session.command("MAIL FROM:<\(settings.from)>", expect: 250)
            for recipient in mail.to { try await session.command("RCPT TO:<\(recipient)>", expect: 250, 251) }
            try await session.command("DATA", expect: 354)
            try await session.send(MailText.render(mail, from: settings.from) + ".\r\n")
            try await session.expect(250, what: "message")
            _ = try? await session.command("QUIT", expect: 221)
        }
    }
}

extension SMTPClient {
    /// Puts TLS in front of the conversation and waits for the handshake, so that a certificate
    /// that does not verify is reported as such — not as whatever the next write or read meets
    /// on a connection the failed handshake closed. Nothing arrives before our ClientHello, so
    /// the handlers go in first.
    static func startTLS(on channel: any Channel, _ settings: SMTPSettings) async throws {
        do {
            try await channel.eventLoop.flatSubmit {
                do {
                    let waiter = TLSHandshakeWaiter(channel.eventLoop.makePromise())
                    try channel.pipeline.syncOperations.addHandler(waiter, position: .first)
                    try channel.pipeline.syncOperations.addHandler(try tlsHandler(settings), position: .first)
                    return waiter.promise.futureResult
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }.get()
        } catch let error as NotifyError {
            throw error
        } catch {
            throw NotifyError("\(settings.host):\(settings.port): \(HTTPNotifier.describe(error))")
        }
    }
}

/// Completes when the TLS handshake has, or fails with what stopped it.
final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<Void>
    private var done = false

    init(_ promise: EventLoopPromise<Void>) { self.promise = promise }

    private func finish(_ result: Result<Void, any Error>) {
        guard !done else { return }
        done = true
        promise.completeWith(result)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { finish(.success(())) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(error))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(NotifyError("the mail server closed the connection during the TLS handshake")))
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }
}

/// One conversation: a command, then its reply checked.
struct SMTPSession {
    var replies: ReplyReader
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let host: String

    mutating func send(_ text: String) async throws { try await outbound.write(ByteBuffer(string: text)) }

    @discardableResult
    mutating func expect(_ codes: Int..., what: String) async throws -> [String] {
        let (code, lines) = try await replies.next()
        guard codes.contains(code) else {
            throw NotifyError("\(host) refused the \(what): \(code) \(lines.joined(separator: " ").prefix(200))")
        }
        return lines
    }

    @discardableResult
    mutating func command(_ line: String, shown: String? = nil, expect codes: Int...) async throws -> [String] {
        try await send(line + "\r\n")
        let (code, lines) = try await replies.next()
        guard codes.contains(code) else {
            throw NotifyError("\(host) refused \(shown ?? line): \(code) \(lines.joined(separator: " ").prefix(200))")
        }
        return lines
    }

    /// EHLO; the capabilities the server lists (upper-cased keywords with their arguments).
    mutating func hello() async throws -> Set<String> {
        let lines = try await command("EHLO gatehouse", expect: 250)
        var capabilities = Set<String>()
        for line in lines.dropFirst() {
            let words = line.uppercased().split(separator: " ").map(String.init)
            guard let keyword = words.first else { continue }
            capabilities.insert(keyword)
            if keyword == "AUTH" { for mechanism in words.dropFirst() { capabilities.insert("AUTH=" + mechanism) } }
        }
        return capabilities
    }

    mutating func authenticate(username: String, password: String, capabilities: Set<String>) async throws {
        func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
        if capabilities.contains("AUTH=PLAIN") {
            // The lines carry credentials: an error names the step only.
            try await command("AUTH PLAIN " + b64("\0\(username)\0\(password)"), shown: "the login (AUTH PLAIN)", expect: 235)
        } else if capabilities.contains("AUTH=LOGIN") {
            try await command("AUTH LOGIN", expect: 334)
            try await command(b64(username), shown: "the login's user name (AUTH LOGIN)", expect: 334)
            try await command(b64(password), shown: "the login (AUTH LOGIN)", expect: 235)
        } else {
            throw NotifyError("\(host) offers no login Gatehouse speaks (AUTH PLAIN or LOGIN)")
        }
    }
}

/// Reads SMTP replies: lines `NNN-text` continued until `NNN text`.
struct ReplyReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var buffer = ByteBuffer()
    static let maxReply = 64 << 10

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

    mutating func next() async throws -> (Int, [String]) {
        var lines: [String] = []
        while true {
            let line = try await nextLine()
            guard line.count >= 3, let code = Int(line.prefix(3)) else { throw NotifyError("the mail server sent a malformed reply") }
            lines.append(String(line.dropFirst(4)))
            if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " { return (code, lines) }
        }
    }

    private mutating func nextLine() async throws -> String {
        while true {
            if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let length = newline - buffer.readerIndex + 1
                // Bytes, not Characters: "\r\n" is one Character to Swift.
                var bytes = buffer.readBytes(length: length) ?? []
                while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
                return String(decoding: bytes, as: UTF8.self)
            }
            guard buffer.readableBytes < Self.maxReply else { throw NotifyError("the mail server's reply is too long") }
            guard var more = try await iterator.next() else { throw NotifyError("the mail server closed the connection") }
            buffer.writeBuffer(&more)
        }
    }
}

/// The message as sent after DATA: headers (RFC 5322; a subject with non-ASCII characters
/// encoded per RFC 2047), a UTF-8 text body in base64 — lines of 76 characters, so no line
/// starts with a dot and none is too long.
enum MailText {
    static func render(_ mail: Mail, from: String) -> String {
        var headers: [(String, String)] = [
            ("Date", rfc5322(mail.date)), ("From", from), ("To", mail.to.joined(separator: ", ")), ("Subject", encodedWord(mail.subject)),
            ("Message-ID", "<\(mail.messageID)>"), ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "base64"),
        ]
        headers += mail.headers
        var out = headers.map { "\($0.0): \(headerSafe($0.1))\r\n" }.joined() + "\r\n"
        let body = Data(mail.text.utf8).base64EncodedString()
        var index = body.startIndex
        while index < body.endIndex {
            let end = body.index(index, offsetBy: 76, limitedBy: body.endIndex) ?? body.endIndex
            out += body[index..<end] + "\r\n"
            index = end
        }
        return out
    }

    /// No CR or LF (header injection) and no other control character in a header value.
    static func headerSafe(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : $0 }))
    }

    static func encodedWord(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value > 0x7e }) else { return text }
        return "=?utf-8?B?" + Data(text.utf8).base64EncodedString() + "?="
    }

    static func rfc5322(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
