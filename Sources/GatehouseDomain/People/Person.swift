import Foundation

/// Whether a person may use the instance at all.
public enum PersonStatus: String, Sendable, Codable, CaseIterable {
    case active, blocked
    /// No longer in the company directory: refused with `not_in_directory`.
    case leftDirectory = "left_directory"
}

public enum SeatState: String, Sendable, Codable, CaseIterable {
    case active, none
}

public enum Role: String, Sendable, Codable, CaseIterable {
    case user, admin
}

/// Person ids: `p_` and a 26-character ULID (time-ordered, 80 random bits).
public enum PersonID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    public static func make(at time: Date, using generator: inout some RandomNumberGenerator) -> String {
        // 10 characters of milliseconds, then 80 random bits as 16 characters: two draws from
        // the generator, not sixteen (a directory sync creates thousands of ids at once).
        var bytes = [UInt8](repeating: 0, count: 28)
        bytes[0] = UInt8(ascii: "p")
        bytes[1] = UInt8(ascii: "_")
        var value = UInt64(max(0, time.timeIntervalSince1970 * 1000))
        for i in stride(from: 11, through: 2, by: -1) {
            bytes[i] = asciiAlphabet[Int(value % 32)]
            value /= 32
        }
        var random = generator.next()
        for i in 12..<24 {
            bytes[i] = asciiAlphabet[Int(random & 31)]
            random >>= 5
        }
        random = generator.next()
        for i in 24..<28 {
            bytes[i] = asciiAlphabet[Int(random & 31)]
            random >>= 5
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static let asciiAlphabet: [UInt8] = alphabet.map { $0.asciiValue! }

    public static func isValid(_ s: String) -> Bool {
        s.hasPrefix("p_") && s.count == 28 && s.dropFirst(2).allSatisfy { alphabet.contains($0) }
    }
}
