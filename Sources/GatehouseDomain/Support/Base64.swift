import Foundation

/// Strict Base64 helpers. Decoding refuses any text that is not the one canonical encoding
/// of its bytes (non-zero unused bits, stray characters, wrong padding): a license file has
/// exactly one valid spelling, so no single-character change can leave it valid.
public enum Base64 {
    /// Standard Base64 with padding, decoded only if canonical.
    public static func decodeCanonical(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
        return Array(data)
    }

    /// Base64url without padding (RFC 4648 section 5).
    public static func urlEncode(_ bytes: some Sequence<UInt8>) -> String {
        var s = Data(bytes).base64EncodedString()
        s = s.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while s.hasSuffix("=") { s.removeLast() }
        return s
    }

    /// Base64url without padding, decoded only if canonical.
    public static func urlDecodeCanonical(_ text: String) -> [UInt8]? {
        guard text.utf8.allSatisfy({ isURLAlphabet($0) }) else { return nil }
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        switch s.count % 4 {
        case 0: break
        case 2: s += "=="
        case 3: s += "="
        default: return nil
        }
        guard let data = Data(base64Encoded: s), urlEncode(data) == text else { return nil }
        return Array(data)
    }

    private static func isURLAlphabet(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }
}

extension Base64 {
    /// Base64url with or without padding, as JWT segments are written by every library
    /// (the signature, not this spelling, is what is checked).
    public static func urlDecodeLenient(_ text: String) -> [UInt8]? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.hasSuffix("=") { s.removeLast() }
        switch s.count % 4 {
        case 0: break
        case 2: s += "=="
        case 3: s += "="
        default: return nil
        }
        return Data(base64Encoded: s).map(Array.init)
    }
}
