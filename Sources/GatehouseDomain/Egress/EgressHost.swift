import Foundation

/// A destination host after normalisation: a lowercase ASCII name (IDNA A-labels, no trailing
/// dot) or an IP literal in whatever form it was written.
public enum EgressHost: Hashable, Sendable, CustomStringConvertible {
    case name(String)
    case ip(IPAddress)

    public var description: String {
        switch self {
        case .name(let name): return name
        case .ip(let address): return address.description
        }
    }

    /// Normalises a host as written in a URL, a CONNECT line or a rule: brackets and one
    /// trailing dot removed, Unicode compatibility-folded (fullwidth letters and dots are the
    /// ASCII ones) and lowercased, non-ASCII labels IDNA-encoded; IP literals recognised in every
    /// form a resolver accepts. A refusal with the reason when it is not a usable host.
    public static func normalise(_ raw: String) -> Result<EgressHost, EgressRefusal> {
        var text = raw
        if text.hasPrefix("["), text.hasSuffix("]") {
            guard let address = IPAddress.parseV6(String(text.dropFirst().dropLast()).replacingOccurrences(of: "%25", with: "%")) else {
                return .failure(.invalidHost("\(raw) is not an IPv6 address"))
            }
            return .success(.ip(address))
        }
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII, as nearly every host is: compatibility folding leaves it as it is, so only
            // the letters are lowered (without Foundation's Unicode machinery, which cost the
            // egress proxy 7% of its CPU per tunnel).
            text = String(decoding: text.utf8.map { $0 &- UInt8(ascii: "A") < 26 ? $0 | 0x20 : $0 }, as: UTF8.self)
        } else {
            // Compatibility folding maps fullwidth forms; the ideographic full stops are dots.
            text = text.precomposedStringWithCompatibilityMapping.lowercased()
            for dot in ["\u{3002}", "\u{FF0E}", "\u{FF61}"] { text = text.replacingOccurrences(of: dot, with: ".") }
        }
        if text.hasSuffix(".") { text.removeLast() }
        guard !text.isEmpty else { return .failure(.invalidHost("empty host")) }
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard let address = IPAddress.parseV6(text) else { return .failure(.invalidHost("\(raw) is not a host")) }
            return .success(.ip(address))
        }
        if let address = IPAddress.parseV4(text) { return .success(.ip(address)) }
        var labels: [String] = []
        for label in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty else { return .failure(.invalidHost("\(raw) has an empty label")) }
            var ascii = String(label)
            if !label.allSatisfy(\.isASCII) {
                guard let encoded = Punycode.encode(String(label)) else { return .failure(.invalidHost("\(raw) cannot be IDNA-encoded")) }
                ascii = encoded
            }
            guard ascii.utf8.count <= 63, ascii.utf8.allSatisfy(isHostByte), ascii.first != "-", ascii.last != "-" else {
                return .failure(.invalidHost("\(raw) is not a valid hostname"))
            }
            labels.append(ascii)
        }
        let name = labels.joined(separator: ".")
        guard name.utf8.count <= 253 else { return .failure(.invalidHost("\(raw) is longer than 253 characters")) }
        // A last label of digits only would be read as a number by some resolvers: refuse it
        // rather than guess (real top-level domains are never numeric).
        if labels.last!.allSatisfy(\.isNumber) { return .failure(.invalidHost("\(raw) ends in a numeric label")) }
        return .success(.name(name))
    }

    static func isHostByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-")
            || b == UInt8(ascii: "_")
    }
}
