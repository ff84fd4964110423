import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// POSTs a notification to a webhook (Slack's incoming webhooks, a generic receiver). The
/// connection goes to the address the caller checked against the egress rules — AsyncHTTPClient's
/// `dnsOverride` keeps the name for TLS (SNI and certificate) and `Host` — so a name that
/// resolves differently a moment later (DNS rebinding) cannot send it elsewhere. No redirect
/// is followed; connect and answer times are bounded.
public enum HTTPNotifier {
    public static let connectTimeout: TimeAmount = .seconds(5)
    public static let timeout: TimeAmount = .seconds(15)

    /// Sends; returns the HTTP status of a 2xx answer, throws for anything else.
    public static func post(
        url: String, host: String, address: String, body: [UInt8], headers: [(String, String)], caFile: String? = nil
    ) async throws(NotifyError) -> Int {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.trustRoots = .file(caFile) }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: .init(connect: connectTimeout, read: timeout))
        var overrides = [host: address]
        if let urlHost = URL(string: url)?.host { overrides[urlHost] = address }
        configuration.dnsOverride = overrides
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "User-Agent", value: "gatehouse")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let result: Result<(Int, String), any Error>
        do {
            let response = try await client.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 64 << 10)
            result = .success((Int(response.status.code), String(buffer: bytes)))
        } catch {
            result = .failure(error)
        }
        try? await client.shutdown()
        let (status, answer): (Int, String)
        switch result {
        case .success(let got): (status, answer) = got
        case .failure(let error):
            throw NotifyError("\(host) could not be reached: \(describe(error))")
        }
        guard (200..<300).contains(status) else {
            let shown = answer.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7f }.prefix(200)
            throw NotifyError("\(host) answered HTTP \(status)\(shown.isEmpty ? "" : ": " + String(String.UnicodeScalarView(shown)))")
        }
        return status
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOSSLError { return "TLS: \(error)" }
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(String(describing: error).prefix(200))
    }
}
