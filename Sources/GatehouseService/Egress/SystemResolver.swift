import Foundation
import GatehouseDomain

/// Resolves names to addresses. The egress check and the proxy resolve once and judge every
/// address they would use.
public protocol EgressResolver: Sendable {
    func addresses(of name: String) async -> [IPAddress]
}

/// The system resolver (getaddrinfo: /etc/hosts, then DNS), off the cooperative pool.
public struct SystemResolver: EgressResolver {
    public init() {}

    public func addresses(of name: String) async -> [IPAddress] {
        await withCheckedContinuation { continuation in
            Thread {
                continuation.resume(returning: Self.lookup(name))
            }.start()
        }
    }

    static func lookup(_ name: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [IPAddress] = []
        var next = result
        while let info = next {
            if info.pointee.ai_family == AF_INET, let sa = info.pointee.ai_addr {
                let a = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                addresses.append(.v4(UInt32(bigEndian: a)))
            } else if info.pointee.ai_family == AF_INET6, let sa = info.pointee.ai_addr {
                let bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) } }
                addresses.append(IPAddress.v6(bytes: bytes))
            }
            next = info.pointee.ai_next
        }
        var seen = Set<IPAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}
