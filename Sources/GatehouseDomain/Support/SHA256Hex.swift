import Crypto

/// Lowercase hex SHA-256 of some bytes: the form every stored hash takes.
public func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
    hexString(SHA256.hash(data: Array(bytes)))
}

private let hexDigits = Array("0123456789abcdef".utf8)

/// Lowercase hex of some bytes, built in one buffer (this is on every API request's path).
public func hexString(_ bytes: some Sequence<UInt8>) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for byte in bytes {
        out.append(hexDigits[Int(byte >> 4)])
        out.append(hexDigits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Lowercase hex SHA-256 of a string's UTF-8 bytes.
public func sha256Hex(_ text: String) -> String {
    var text = text
    return text.withUTF8 { hexString(SHA256.hash(data: $0)) }
}
