import Foundation

/// Whether a person may use the instance at all.
public enum PersonStatus: String, Sendable, Codable, CaseIterable {
    case active, blocked
    /// No longer in the company directory: refused with `not_in_directory`.
    case leftDirectory = "left_directory"
}

public enum SeatState: String, Sendable, Codable {
    case active, none
}

public enum Role: String, Sendable, Codable {
    case user, admin
}

/// Person ids: `p_` and a 26-character ULID (time-ordered, 80 random bits).
public enum PersonID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    public static func make(at time: Date, using generator: inout some RandomNumberGenerator) -> String {
        var value = UInt64(max(0, time.timeIntervalSince1970 * 1000))
        var timePart: [Character] = []
        for _ in 0..<10 {
            timePart.append(alphabet[Int(value % 32)])
            value /= 32
        }
        let random = (0..<16).map { _ in alphabet[Int.random(in: 0..<32, using: &generator)] }
        return "p_" + String(timePart.reversed()) + String(random)
    }

    public static func isValid(_ s: String) -> Bool {
        s.hasPrefix("p_") && s.count == 28 && s.dropFirst(2).allSatisfy { alphabet.contains($0) }
    }
}
