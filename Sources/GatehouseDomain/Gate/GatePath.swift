/// The path of a request the reverse proxy asks about, read the way the upstream will read it.
///
/// A path is *canonical* when decoding and normalising it changes nothing that matters to
/// routing: no `.` or `..` segment (in any spelling, `%2e` included), no empty segment (`//`),
/// no encoded slash or backslash, no backslash, no control character, every `%` escape valid.
/// Only a canonical path may be classed as public or upload: a path the upstream could read
/// as another route (`/webhooks/%2e%2e/api/…`) never borrows the class of the route it
/// pretends to be (see `GatePolicy.classify`).
public struct GatePath: Sendable, Equatable {
    /// The path, percent-decoded (what routing sees), without the query.
    public var decoded: String
    public var canonical: Bool

    /// Reads the path of a request target: origin form (`/a/b?q`), or absolute form
    /// (`https://host/a/b?q`, whose path is taken). Anything else is not canonical.
    public init(requestTarget target: some StringProtocol) {
        var bytes = Array(target.utf8)
        if let end = bytes.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) { bytes.removeSubrange(end...) }
        if bytes.first != UInt8(ascii: "/") {
            // Absolute form: scheme "://" authority path.
            guard let schemeEnd = Self.find(Array("://".utf8), in: bytes) else {
                self.init(decoded: String(decoding: bytes, as: UTF8.self), canonical: false)
                return
            }
            let rest = bytes[(schemeEnd + 3)...]
            if let slash = rest.firstIndex(of: UInt8(ascii: "/")) { bytes = Array(bytes[slash...]) } else { bytes = [UInt8(ascii: "/")] }
        }
        self = Self.read(bytes)
    }

    public init(decoded: String, canonical: Bool) {
        self.decoded = decoded
        self.canonical = canonical
    }

    private static func read(_ raw: [UInt8]) -> GatePath {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var canonical = true
        var i = 0
        while i < raw.count {
            let b = raw[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < raw.count, let hi = hex(raw[i + 1]), let lo = hex(raw[i + 2]) else {
                    canonical = false
                    out.append(b)
                    i += 1
                    continue
                }
                let value = hi << 4 | lo
                // An encoded slash or backslash splits segments for some servers and not others.
                if value == UInt8(ascii: "/") || value == UInt8(ascii: "\\") { canonical = false }
                out.append(value)
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        for b in out where b < 0x20 || b == 0x7F || b == UInt8(ascii: "\\") { canonical = false }
        // Segments: none empty (but a trailing slash), none "." or "..".
        let segments = out.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in segments.enumerated() {
            if segment.isEmpty, index != segments.count - 1 { canonical = false }
            if segment.elementsEqual([UInt8(ascii: ".")]) || segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                canonical = false
            }
        }
        return GatePath(
            decoded: String(decoding: out, as: UTF8.self), canonical: canonical && String(validating: out, as: UTF8.self) != nil)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}
