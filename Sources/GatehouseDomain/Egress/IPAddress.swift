import Foundation

/// An IPv4 or IPv6 address, parsed from every spelling a resolver accepts, so that an IP
/// literal is recognised as one however it is written (`2130706433`, `0x7f.1`, `127.1`,
/// `[::ffff:127.0.0.1]`, `fe80::1%eth0`).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    /// The 128 bits as two words, most significant first.
    case v6(UInt64, UInt64)

    public var description: String {
        switch self {
        case .v4(let a): return "\(a >> 24).\((a >> 16) & 255).\((a >> 8) & 255).\(a & 255)"
        case .v6(let hi, let lo):
            var bytes = [UInt8](repeating: 0, count: 16)
            for i in 0..<8 {
                bytes[i] = UInt8(truncatingIfNeeded: hi >> (56 - 8 * i))
                bytes[8 + i] = UInt8(truncatingIfNeeded: lo >> (56 - 8 * i))
            }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            _ = bytes.withUnsafeBytes { inet_ntop(AF_INET6, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Parses a host as an IP literal, in any form; `nil` when it is a name.
    public static func parse(_ text: String) -> IPAddress? {
        var host = Substring(text)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        if host.utf8.contains(UInt8(ascii: ":")) { return parseV6(String(host)) }
        return parseV4(String(host))
    }

    /// IPv4 as `inet_aton` reads it: one to four parts, each decimal, octal (leading `0`) or hex
    /// (`0x`); the last part fills the remaining bytes (`127.1` is 127.0.0.1, `2130706433` too).
    public static func parseV4(_ text: String) -> IPAddress? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            guard let value = number(part) else { return nil }
            values.append(value)
        }
        let lastBits = 8 * (5 - parts.count)  // 32, 24, 16 or 8
        for value in values.dropLast() where value > 255 { return nil }
        guard values.last! < (UInt64(1) << lastBits) else { return nil }
        var address: UInt64 = 0
        for (i, value) in values.dropLast().enumerated() { address |= value << (24 - 8 * i) }
        address |= values.last!
        return .v4(UInt32(address))
    }

    static func number(_ part: Substring) -> UInt64? {
        guard !part.isEmpty else { return nil }
        let lower = part.lowercased()
        if lower.hasPrefix("0x") {
            let digits = lower.dropFirst(2)
            // `0x` alone is zero to inet_aton.
            return digits.isEmpty ? 0 : (digits.count <= 16 ? UInt64(digits, radix: 16) : nil)
        }
        if lower.count > 1, lower.hasPrefix("0") { return lower.count <= 23 ? UInt64(lower.dropFirst(), radix: 8) : nil }
        return lower.count <= 20 ? UInt64(lower, radix: 10) : nil
    }

    /// IPv6, with an optional zone id (`%eth0`, or `%25eth0` as in URLs) dropped.
    public static func parseV6(_ text: String) -> IPAddress? {
        var address = text
        if let percent = address.firstIndex(of: "%") { address = String(address[..<percent]) }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, address, &bytes) == 1 else { return nil }
        return v6(bytes: bytes)
    }

    /// An IPv6 address from its 16 bytes in network order.
    public static func v6(bytes: [UInt8]) -> IPAddress {
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<8 {
            hi = hi << 8 | UInt64(bytes[i])
            lo = lo << 8 | UInt64(bytes[8 + i])
        }
        return .v6(hi, lo)
    }
}
