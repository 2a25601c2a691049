import Foundation

/// A byte-level JSON scanner that finds the ranges of values without building objects.
///
/// The client uses it to cut a filter page into its items' exact bytes (kept as the raw JSON
/// of each item) and to read a few top-level members. It checks structure (strings, nesting,
/// literals) strictly enough to reject truncated or non-JSON bodies.
public enum JSONScanner {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// The members of the object that is the whole document: key → byte range of the value,
    /// in `data`'s own indices (a slice's ranges index the slice). `Failure.offset` counts from
    /// the document's first byte.
    public static func objectMembers(_ data: Data) throws -> [String: Range<Int>] {
        let base = data.startIndex
        return try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var i = skipSpace(bytes, 0)
            guard i < bytes.count, bytes[i] == 0x7B else { throw Failure(offset: i, reason: "expected an object") }
            var members: [String: Range<Int>] = [:]
            i = skipSpace(bytes, i + 1)
            if i < bytes.count, bytes[i] == 0x7D {
                try expectEnd(bytes, i + 1)
                return members
            }
            while true {
                guard i < bytes.count, bytes[i] == 0x22 else { throw Failure(offset: i, reason: "expected a key") }
                let keyEnd = try skipString(bytes, i)
                let key = try decodeKey(bytes, i..<keyEnd)
                i = skipSpace(bytes, keyEnd)
                guard i < bytes.count, bytes[i] == 0x3A else { throw Failure(offset: i, reason: "expected ':'") }
                let valueStart = skipSpace(bytes, i + 1)
                let valueEnd = try skipValue(bytes, valueStart, depth: 1)
                members[key] = (base + valueStart)..<(base + valueEnd)
                i = skipSpace(bytes, valueEnd)
                guard i < bytes.count else { throw Failure(offset: i, reason: "unexpected end") }
                if bytes[i] == 0x2C {
                    i = skipSpace(bytes, i + 1)
                    continue
                }
                guard bytes[i] == 0x7D else { throw Failure(offset: i, reason: "expected ',' or '}'") }
                try expectEnd(bytes, i + 1)
                return members
            }
        }
    }

    /// The byte ranges of the elements of the array at `range` (ranges in `data`'s own indices,
    /// as `objectMembers` returns them).
    public static func arrayElements(_ data: Data, in range: Range<Int>) throws -> [Range<Int>] {
        let base = data.startIndex
        guard range.lowerBound >= base, range.upperBound <= data.endIndex else {
            throw Failure(offset: max(0, range.lowerBound - base), reason: "range outside the document")
        }
        return try data.withUnsafeBytes { raw in
            // Only the array's own bytes: nothing past its end is read.
            let bytes = UnsafeBufferPointer(
                rebasing: raw.bindMemory(to: UInt8.self)[0..<(range.upperBound - base)])
            var i = range.lowerBound - base
            guard i < bytes.count, bytes[i] == 0x5B else { throw Failure(offset: i, reason: "expected an array") }
            var elements: [Range<Int>] = []
            i = skipSpace(bytes, i + 1)
            if i < bytes.count, bytes[i] == 0x5D { return try arrayEnd(bytes, i, elements) }
            while true {
                let end = try skipValue(bytes, i, depth: 1)
                elements.append((base + i)..<(base + end))
                i = skipSpace(bytes, end)
                guard i < bytes.count else { throw Failure(offset: i, reason: "unexpected end") }
                if bytes[i] == 0x2C {
                    i = skipSpace(bytes, i + 1)
                    continue
                }
                guard bytes[i] == 0x5D else { throw Failure(offset: i, reason: "expected ',' or ']'") }
                return try arrayEnd(bytes, i, elements)
            }
        }
    }

    /// The array closed at `i` must end the range it was asked for.
    private static func arrayEnd(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ elements: [Range<Int>]) throws -> [Range<
        Int
    >] {
        guard skipSpace(b, i + 1) == b.count else { throw Failure(offset: i + 1, reason: "bytes after the array") }
        return elements
    }

    private static func expectEnd(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) throws {
        let j = skipSpace(b, i)
        guard j == b.count else { throw Failure(offset: j, reason: "trailing bytes after the document") }
    }

    private static func skipSpace(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        var i = start
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        return i
    }

    private static func skipString(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) throws -> Int {
        var i = start + 1
        scan: while i < b.count {
            let c = b[i]
            if c == 0x22 { return i + 1 }
            if c < 0x20 { throw Failure(offset: i, reason: "control character in a string") }
            if c != 0x5C {
                i += 1
                continue
            }
            guard i + 1 < b.count else { break scan }
            switch b[i + 1] {
            case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:  // \" \\ \/ \b \f \n \r \t
                i += 2
            case 0x75:  // \u and four hex digits
                for k in (i + 2)..<(i + 6) {
                    guard k < b.count else { break scan }
                    guard isHex(b[k]) else { throw Failure(offset: k, reason: "invalid \\u escape") }
                }
                i += 6
            default:
                throw Failure(offset: i + 1, reason: "invalid escape in a string")
            }
        }
        throw Failure(offset: b.count, reason: "unterminated string")
    }

    private static func isHex(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x41...0x46).contains(c) || (0x61...0x66).contains(c)
    }

    private static func isDigit(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) }

    /// A number by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private static func skipNumber(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) throws -> Int {
        var i = start
        if b[i] == 0x2D { i += 1 }
        guard i < b.count, isDigit(b[i]) else { throw Failure(offset: i, reason: "invalid number") }
        if b[i] == 0x30 {
            i += 1
        } else {
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        if i < b.count, b[i] == 0x2E {
            i += 1
            guard i < b.count, isDigit(b[i]) else { throw Failure(offset: i, reason: "invalid number") }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        if i < b.count, b[i] == 0x65 || b[i] == 0x45 {
            i += 1
            if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
            guard i < b.count, isDigit(b[i]) else { throw Failure(offset: i, reason: "invalid number") }
            while i < b.count, isDigit(b[i]) { i += 1 }
        }
        return i
    }

    private static func skipValue(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, depth: Int) throws -> Int {
        guard depth < 512 else { throw Failure(offset: start, reason: "nested too deeply") }
        guard start < b.count else { throw Failure(offset: start, reason: "unexpected end") }
        switch b[start] {
        case 0x22:
            return try skipString(b, start)
        case 0x7B, 0x5B:
            let close: UInt8 = b[start] == 0x7B ? 0x7D : 0x5D
            let isObject = b[start] == 0x7B
            var i = skipSpace(b, start + 1)
            if i < b.count, b[i] == close { return i + 1 }
            while true {
                if isObject {
                    guard i < b.count, b[i] == 0x22 else { throw Failure(offset: i, reason: "expected a key") }
                    i = skipSpace(b, try skipString(b, i))
                    guard i < b.count, b[i] == 0x3A else { throw Failure(offset: i, reason: "expected ':'") }
                    i = skipSpace(b, i + 1)
                }
                i = skipSpace(b, try skipValue(b, i, depth: depth + 1))
                guard i < b.count else { throw Failure(offset: i, reason: "unexpected end") }
                if b[i] == 0x2C {
                    i = skipSpace(b, i + 1)
                    continue
                }
                guard b[i] == close else { throw Failure(offset: i, reason: "expected ',' or a closing bracket") }
                return i + 1
            }
        case 0x74, 0x66, 0x6E:  // true, false, null
            let word: [UInt8] =
                b[start] == 0x74 ? Array("true".utf8) : b[start] == 0x66 ? Array("false".utf8) : Array("null".utf8)
            guard start + word.count <= b.count else { throw Failure(offset: start, reason: "unexpected end") }
            for k in 0..<word.count where b[start + k] != word[k] {
                throw Failure(offset: start + k, reason: "invalid literal")
            }
            return start + word.count
        case 0x2D, 0x30...0x39:
            return try skipNumber(b, start)
        default:
            throw Failure(offset: start, reason: "unexpected byte")
        }
    }

    private static func decodeKey(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws -> String {
        let inner = UnsafeBufferPointer(rebasing: b[(range.lowerBound + 1)..<(range.upperBound - 1)])
        if !inner.contains(0x5C) { return String(decoding: inner, as: UTF8.self) }
        let quoted = Data(UnsafeBufferPointer(rebasing: b[range]))
        guard let key = try? JSONDecoder().decode(String.self, from: quoted) else {
            throw Failure(offset: range.lowerBound, reason: "invalid key")
        }
        return key
    }
}
