import Foundation
import GatehouseDomain

/// A row read by position. `SQLRow` is one (values already fetched); on SQLite a load reads
/// the statement's own buffers through `SQLiteColumns`, so that a million rows make no
/// `SQLValue`s, and enumeration values and times are read from their bytes without becoming
/// strings first. Both read a value the same way: a decoder written once serves both.
protocol SQLColumns {
    var columnNames: [String] { get }
    func isNull(_ index: Int) -> Bool
    /// An integer column (a text of digits is read as its number, as `SQLRow` does).
    func int64(_ index: Int) throws -> Int64
    /// A text column (an integer is read as its digits); NULL is an error.
    func text(_ index: Int) throws -> String
    /// A text column's UTF-8 bytes, in place; NULL is an error.
    func withText<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R
}

extension SQLColumns {
    /// The position of `column` (found once per result, used for every row).
    func position(of column: String) throws -> Int {
        guard let index = columnNames.firstIndex(of: column) else {
            throw StoreError(.corrupt, "the result has no column \(column) (it has \(columnNames.joined(separator: ", ")))")
        }
        return index
    }

    func name(_ index: Int) -> String { columnNames.indices.contains(index) ? columnNames[index] : "#\(index)" }

    func optionalText(_ index: Int) throws -> String? { isNull(index) ? nil : try text(index) }

    /// A flag: 0 or 1.
    func bool(_ index: Int) throws -> Bool {
        switch try int64(index) {
        case 0: return false
        case 1: return true
        case let other: throw StoreError(.corrupt, "column \(name(index)) holds the integer \(other), not a flag")
        }
    }

    /// One of the raw values in `values`, matched as bytes (no string is made); anything else
    /// names the column.
    func value<E>(_ index: Int, in values: RawValues<E>) throws -> E {
        guard let found = try withText(index, values.match) else {
            throw StoreError(.corrupt, "column \(name(index)) holds \"\(try text(index).prefix(40))\", not a \(E.self)")
        }
        return found
    }

    /// A UTC timestamp (`2026-11-01T00:00:00Z`, milliseconds optional).
    func time(_ index: Int) throws -> Date {
        guard let time = try withText(index, UTC.parseTimestamp(bytes:)) else {
            throw StoreError(.corrupt, "column \(name(index)) holds \"\(try text(index).prefix(40))\", not a UTC time")
        }
        return time
    }

    func optionalTime(_ index: Int) throws -> Date? { isNull(index) ? nil : try time(index) }
}

extension SQLRow: SQLColumns {
    var columnNames: [String] { names }

    func isNull(_ index: Int) -> Bool { !values.indices.contains(index) || values[index] == .null }

    func int64(_ index: Int) throws -> Int64 { try self[index] }

    func text(_ index: Int) throws -> String { try self[index] }

    func withText<R>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        var text: String = try self[index]
        return try text.withUTF8(body)
    }
}

/// Reads one kind of record from the rows of a result: the columns' positions are found in
/// the first row (a missing column is an error there) and used for every row after it.
protocol RowDecoder {
    associatedtype Record
    init(_ row: some SQLColumns) throws
    func decode(_ row: some SQLColumns) throws -> Record
}

/// An enumeration's raw values as UTF-8 bytes, made once (the decoders hold them as statics)
/// rather than per row.
struct RawValues<E: RawRepresentable & CaseIterable & Sendable>: Sendable where E.RawValue == String {
    private let cases: [(bytes: [UInt8], value: E)]

    init() { cases = E.allCases.map { (Array($0.rawValue.utf8), $0) } }

    func match(_ bytes: UnsafeBufferPointer<UInt8>) -> E? {
        for known in cases where known.bytes.count == bytes.count && known.bytes.elementsEqual(bytes) { return known.value }
        return nil
    }
}
