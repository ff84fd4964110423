import Crypto

/// Lowercase hex SHA-256 of some bytes: the form every stored hash takes.
public func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
    SHA256.hash(data: Array(bytes)).map { byte in
        let hex = String(byte, radix: 16)
        return hex.count == 1 ? "0" + hex : hex
    }.joined()
}

/// Lowercase hex SHA-256 of a string's UTF-8 bytes.
public func sha256Hex(_ text: String) -> String { sha256Hex(Array(text.utf8)) }
