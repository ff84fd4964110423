/// What kind of network an address belongs to. Everything but `public` is refused as an
/// egress destination unless the administrator allows it in `allow_cidrs`.
public enum AddressClass: String, Sendable, CaseIterable {
    case `public`
    case unspecified, loopback
    /// RFC 1918, IPv6 unique local (fc00::/7), local-use NAT64.
    case `private`
    /// 169.254/16 and fe80::/10 — where cloud metadata services live.
    case linkLocal = "link_local"
    /// 169.254.169.254, fd00:ec2::254 and friends: named separately, the prize of SSRF.
    case metadata
    /// 100.64.0.0/10, carrier-grade NAT.
    case cgnat
    case multicast, broadcast, documentation, benchmarking
    /// Reserved, deprecated or special-purpose (240/4, 192.0.0/24, site-local, discard, ORCHID…).
    case reserved

    public var isPublic: Bool { self == .public }
}

extension IPAddress {
    /// The class of this address; for IPv6 forms that carry an IPv4 address (IPv4-mapped and
    /// -compatible, NAT64, 6to4, Teredo) the embedded address is classified too, and the
    /// stricter answer wins.
    public var classification: AddressClass {
        switch self {
        case .v4(let a): return Self.classify(v4: a)
        case .v6(let hi, let lo):
            let own = Self.classify(v6hi: hi, lo: lo)
            guard own == .public || own == .reserved else { return own }
            for embedded in embeddedV4 {
                let inner = Self.classify(v4: embedded)
                if inner != .public { return inner }
            }
            return own
        }
    }

    /// IPv4 addresses carried inside an IPv6 address.
    public var embeddedV4: [UInt32] {
        guard case .v6(let hi, let lo) = self else { return [] }
        let low32 = UInt32(truncatingIfNeeded: lo)
        if hi == 0 && lo >> 32 == 0xFFFF { return [low32] }  // ::ffff:a.b.c.d mapped
        if hi == 0 && lo >> 32 == 0 && low32 > 1 { return [low32] }  // ::a.b.c.d compatible
        if hi == 0x0064_FF9B_0000_0000 && lo >> 32 == 0 { return [low32] }  // 64:ff9b::/96 NAT64
        if hi >> 48 == 0x2002 { return [UInt32(truncatingIfNeeded: hi >> 16)] }  // 6to4 2002:AABB:CCDD::
        if hi >> 32 == 0x2001_0000 {  // Teredo: server in bits 32–63, client (inverted) in the last 32
            return [UInt32(truncatingIfNeeded: hi), ~low32]
        }
        return []
    }

    static func classify(v4 a: UInt32) -> AddressClass {
        func within(_ base: UInt32, _ bits: Int) -> Bool { bits == 0 || a >> (32 - bits) == base >> (32 - bits) }
        if a == 0xA9FE_A9FE || a == 0xA9FE_A97B || a == 0xA9FE_A9FD { return .metadata }  // 169.254.169.254/.123/.253
        if a == 0xFFFF_FFFF { return .broadcast }
        if within(0x0000_0000, 8) { return a == 0 ? .unspecified : .reserved }
        if within(0x7F00_0000, 8) { return .loopback }
        if within(0x0A00_0000, 8) || within(0xAC10_0000, 12) || within(0xC0A8_0000, 16) { return .private }
        if within(0x6440_0000, 10) { return .cgnat }
        if within(0xA9FE_0000, 16) { return .linkLocal }
        if within(0xC000_0200, 24) || within(0xC633_6400, 24) || within(0xCB00_7100, 24) { return .documentation }
        if within(0xC612_0000, 15) { return .benchmarking }
        if within(0xE000_0000, 4) { return .multicast }
        if within(0xF000_0000, 4) || within(0xC000_0000, 24) || within(0xC058_6300, 24) { return .reserved }
        return .public
    }

    static func classify(v6hi hi: UInt64, lo: UInt64) -> AddressClass {
        func within(_ prefix: UInt64, _ bits: Int) -> Bool { hi >> (64 - bits) == prefix >> (64 - bits) }
        if hi == 0 && lo == 0 { return .unspecified }
        if hi == 0 && lo == 1 { return .loopback }
        if hi == 0 { return .reserved }  // mapped/compatible: the embedded address decides (see `classification`)
        if hi == 0xFD00_0EC2_0000_0000 && lo == 0x254 { return .metadata }  // AWS IMDS over IPv6
        if within(0xFC00_0000_0000_0000, 7) { return .private }
        if within(0xFE80_0000_0000_0000, 10) { return .linkLocal }
        if within(0xFEC0_0000_0000_0000, 10) { return .reserved }  // site-local, deprecated
        if within(0xFF00_0000_0000_0000, 8) { return .multicast }
        if within(0x2001_0DB8_0000_0000, 32) || within(0x3FFF_0000_0000_0000, 20) { return .documentation }
        if within(0x2001_0002_0000_0000, 48) { return .benchmarking }
        if within(0x0064_FF9B_0001_0000, 48) { return .private }  // local-use NAT64
        if hi == 0x0100_0000_0000_0000 { return .reserved }  // 100::/64 discard
        if within(0x2001_0010_0000_0000, 28) || within(0x2001_0020_0000_0000, 28) { return .reserved }  // ORCHID
        if within(0x5F00_0000_0000_0000, 16) { return .reserved }  // SRv6 SIDs
        if hi == 0x0064_FF9B_0000_0000, lo >> 32 == 0 { return .public }  // NAT64 64:ff9b::/96: the embedded address decides
        if within(0x2000_0000_0000_0000, 3) { return .public }  // global unicast
        return .reserved
    }
}
