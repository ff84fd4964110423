/// Reads a request body of the plain shape nearly every client sends — an object of ASCII
/// strings without escapes, small non-negative integers, booleans, arrays of such strings and
/// nested objects — straight from its bytes, with no `JSONValue` tree in between.
///
/// It is the decision endpoints' fast path, and only that: every method returns `nil` (or
/// `false`) at the first thing it does not handle — an escape, a byte outside printable
/// ASCII, `null`, a float, a duplicate key, trailing text — and the caller then parses the
/// body again with `JSONValue.parse`, which accepts all of JSON and names every problem.
/// So what it accepts, it reads exactly as the full parser would, and it never refuses.
public struct PlainJSONReader {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Whether only whitespace is left.
    public mutating func atEnd() -> Bool {
        skipWhitespace()
        return index == bytes.count
    }

    /// Reads an object, handing each key (its bytes) to `member`, which must read the value
    /// and return `true` — and `false` for a key it does not know or has seen already (the
    /// full parser refuses a duplicate key; the caller keeps count, with no array made here).
    public mutating func object(_ member: (UnsafeRawBufferPointer, inout PlainJSONReader) -> Bool) -> Bool {
        skipWhitespace()
        guard take(UInt8(ascii: "{")) else { return false }
        skipWhitespace()
        if take(UInt8(ascii: "}")) { return true }
        while true {
            skipWhitespace()
            guard let key = rawString() else { return false }
            skipWhitespace()
            guard take(UInt8(ascii: ":")) else { return false }
            skipWhitespace()
            guard member(key, &self) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "}"))
        }
    }

    /// A string of printable ASCII without escapes.
    public mutating func string() -> String? {
        skipWhitespace()
        guard let raw = rawString() else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }

    /// A non-negative integer that fits in 64 bits, as its digits (the full parser keeps an
    /// integer id as `String(value)`, which for these is the same text).
    public mutating func integerDigits() -> String? {
        skipWhitespace()
        let start = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
        let count = index - start
        // No leading zero (not JSON), at most 18 digits (always within Int64), no fraction or exponent.
        guard count > 0, count <= 18, count == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] | 0x20 == UInt8(ascii: "e") { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    public mutating func bool() -> Bool? {
        skipWhitespace()
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    /// An array of plain strings, at most `limit` of them (a longer one is left to the full parser).
    public mutating func strings(limit: Int) -> [String]? {
        skipWhitespace()
        guard take(UInt8(ascii: "[")) else { return nil }
        var items: [String] = []
        skipWhitespace()
        if take(UInt8(ascii: "]")) { return items }
        while true {
            guard items.count < limit, let item = string() else { return nil }
            items.append(item)
            skipWhitespace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "]")) ? items : nil
        }
    }

    /// Whether the next value is a string (so that a field taking a string or an integer knows
    /// which to read).
    public mutating func nextIsString() -> Bool {
        skipWhitespace()
        return index < bytes.count && bytes[index] == UInt8(ascii: "\"")
    }

    // MARK: bytes

    private mutating func rawString() -> UnsafeRawBufferPointer? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return UnsafeRawBufferPointer(rebasing: bytes[start..<index - 1])
            }
            // An escape, a control character or anything beyond ASCII: the full parser's.
            guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
            UnsafeRawBufferPointer(rebasing: bytes[index..<index + count]).elementsEqual(
                UnsafeRawBufferPointer(start: word.utf8Start, count: count))
        else { return false }
        index += count
        return true
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes spell `text` (an object key compared without making a string).
    public func spells(_ text: StaticString) -> Bool {
        count == text.utf8CodeUnitCount && elementsEqual(UnsafeRawBufferPointer(start: text.utf8Start, count: count))
    }
}
