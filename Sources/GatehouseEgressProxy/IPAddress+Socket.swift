import GatehouseDomain
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Socket addresses to and from the domain's `IPAddress` without going through text (the
/// proxy formatted a client's address with `inet_ntop` and parsed it back, three times per
/// connection, and turned each checked address into text for `inet_pton` before connecting).
extension IPAddress {
    /// The address of an IPv4 or IPv6 socket address; `nil` for a Unix socket.
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self = .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            let words = withUnsafeBytes(of: v6.address.sin6_addr) { bytes in
                (Self.word(bytes[0..<8]), Self.word(bytes[8..<16]))
            }
            self = .v6(words.0, words.1)
        case .unixDomainSocket:
            return nil
        }
    }

    /// The socket address to connect to, at `port`.
    func socketAddress(port: Int) -> SocketAddress {
        switch self {
        case .v4(let value):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
            address.sin_addr.s_addr = value.bigEndian
            return SocketAddress(address)
        case .v6(let hi, let lo):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { bytes in
                for i in 0..<8 {
                    bytes[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * i))
                    bytes[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * i))
                }
            }
            return SocketAddress(address)
        }
    }

    private static func word(_ bytes: Slice<UnsafeRawBufferPointer>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
