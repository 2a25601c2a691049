/// Reads JSON text into `JSONValue`s, the way `jsonb` reads it (numbers kept as decimals,
/// objects with the last of duplicate keys). Used on bytes PostgreSQL has already accepted as
/// `jsonb` (the page is staged first), so anything it cannot read is an error.
struct JSONReader {
    struct Failure: Error, CustomStringConvertible {
        var offset: Int
        var reason: String
        var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Deeper than this, `jsonb` itself would have stopped (its stack depth limit).
    static let maxDepth = 10_000

    /// The value of the whole of `bytes`.
    static func value(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer in
            var reader = Cursor(bytes: buffer)
            reader.skipSpace()
            let value = try reader.value(depth: 0)
            reader.skipSpace()
            guard reader.i == buffer.count else { throw Failure(offset: reader.i, reason: "trailing characters") }
            return value
        }
    }

    /// `podio.field_values` of an item whose `fields` member is `bytes`: each field's `values`
    /// keyed by the text of its `field_id` (the last of duplicates; a field without `values` has
    /// JSON null; anything but an array has no fields). The other members of a field (its
    /// `config`, label, type) are skipped, not read.
    static func fieldValues(_ bytes: some Collection<UInt8>) throws -> [String: JSONValue] {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer in
            var reader = Cursor(bytes: buffer)
            var map: [String: JSONValue] = [:]
            reader.skipSpace()
            guard reader.i < buffer.count, buffer[reader.i] == UInt8(ascii: "[") else { return map }
            reader.i += 1
            reader.skipSpace()
            if reader.i < buffer.count, buffer[reader.i] == UInt8(ascii: "]") { return map }
            while true {
                reader.skipSpace()
                if reader.i < buffer.count, buffer[reader.i] == UInt8(ascii: "{") {
                    let (fieldID, values) = try reader.fieldMembers()
                    if let key = fieldID?.text { map[key] = values ?? .null }
                } else {
                    try reader.skipValue(depth: 1)
                }
                reader.skipSpace()
                guard reader.i < buffer.count else { throw Failure(offset: reader.i, reason: "unexpected end") }
                if buffer[reader.i] == UInt8(ascii: ",") {
                    reader.i += 1
                    continue
                }
                guard buffer[reader.i] == UInt8(ascii: "]") else {
                    throw Failure(offset: reader.i, reason: "expected ',' or ']'")
                }
                return map
            }
        }
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
        }

        func fail(_ reason: String) -> Failure { Failure(offset: i, reason: reason) }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < JSONReader.maxDepth else { throw fail("nested too deeply") }
            guard i < bytes.count else { throw fail("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [(key: String, value: JSONValue)] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object([])
                }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let key = try string()
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    guard bytes[i] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                    i += 1
                    return .object(members)
                }
            case UInt8(ascii: "["):
                i += 1
                var elements: [JSONValue] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array([])
                }
                while true {
                    skipSpace()
                    elements.append(try value(depth: depth + 1))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    guard bytes[i] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                    i += 1
                    return .array(elements)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default:
                let start = i
                while i < bytes.count {
                    switch bytes[i] {
                    case 48...57, UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"),
                        UInt8(ascii: "E"):
                        i += 1
                        continue
                    default: break
                    }
                    break
                }
                guard Self.isNumber(UnsafeBufferPointer(rebasing: bytes[start..<i])) else {
                    throw Failure(offset: start, reason: "not a number")
                }
                return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
            }
        }

        /// The object at `i`: its last `field_id` and last `values`, the other members skipped.
        mutating func fieldMembers() throws -> (fieldID: JSONValue?, values: JSONValue?) {
            i += 1
            var fieldID: JSONValue?
            var values: JSONValue?
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
                return (nil, nil)
            }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                switch key {
                case "field_id": fieldID = try value(depth: 2)
                case "values": values = try value(depth: 2)
                default: try skipValue(depth: 2)
                }
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end") }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                i += 1
                return (fieldID, values)
            }
        }

        /// Moves past the value at `i` without reading it.
        mutating func skipValue(depth: Int) throws {
            guard depth < JSONReader.maxDepth else { throw fail("nested too deeply") }
            guard i < bytes.count else { throw fail("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var nesting = 0
                while i < bytes.count {
                    let byte = bytes[i]
                    if byte == UInt8(ascii: "\"") {
                        try skipString()
                        continue
                    }
                    if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                        nesting += 1
                    } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                        nesting -= 1
                        if nesting == 0 {
                            i += 1
                            return
                        }
                    }
                    i += 1
                }
                throw fail("unexpected end")
            case UInt8(ascii: "\""):
                try skipString()
            default:
                while i < bytes.count {
                    switch bytes[i] {
                    case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 32, 9, 10, 13: return
                    default: i += 1
                    }
                }
            }
        }

        /// Moves past the string at `i` (its opening quote).
        mutating func skipString() throws {
            i += 1
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    i += 1
                    return
                case UInt8(ascii: "\\"): i += 2
                default: i += 1
                }
            }
            throw fail("unterminated string")
        }

        /// JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
        static func isNumber(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
            var k = 0
            func digits() -> Int {
                let start = k
                while k < b.count, b[k] >= 48, b[k] <= 57 { k += 1 }
                return k - start
            }
            if k < b.count, b[k] == UInt8(ascii: "-") { k += 1 }
            let first = k
            guard digits() > 0, b[first] != 48 || k == first + 1 else { return false }
            if k < b.count, b[k] == UInt8(ascii: ".") {
                k += 1
                guard digits() > 0 else { return false }
            }
            if k < b.count, b[k] == UInt8(ascii: "e") || b[k] == UInt8(ascii: "E") {
                k += 1
                if k < b.count, b[k] == UInt8(ascii: "+") || b[k] == UInt8(ascii: "-") { k += 1 }
                guard digits() > 0 else { return false }
            }
            return k == b.count
        }

        mutating func literal(_ word: String) throws {
            let expected = Array(word.utf8)
            guard i + expected.count <= bytes.count else { throw fail("unexpected end") }
            for k in expected.indices where bytes[i + k] != expected[k] { throw fail("unknown literal") }
            i += expected.count
        }

        /// A string at `i` (its opening quote), unescaped.
        mutating func string() throws -> String {
            i += 1
            let start = i
            while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
            guard i < bytes.count else { throw fail("unterminated string") }
            if bytes[i] == UInt8(ascii: "\"") {
                defer { i += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
            while i < bytes.count {
                let byte = bytes[i]
                if byte == UInt8(ascii: "\"") {
                    i += 1
                    return String(decoding: out, as: UTF8.self)
                }
                guard byte == UInt8(ascii: "\\") else {
                    out.append(byte)
                    i += 1
                    continue
                }
                i += 1
                guard i < bytes.count else { break }
                let escaped = bytes[i]
                i += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u")
                        else { throw fail("a high surrogate without its low one") }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else {
                            throw fail("a high surrogate without its low one")
                        }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard code != 0, let scalar = Unicode.Scalar(code) else { throw fail("an escape jsonb refuses") }
                    UTF8.encode(scalar) { out.append($0) }
                default:
                    throw fail("unknown escape")
                }
            }
            throw fail("unterminated string")
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count else { throw fail("unexpected end") }
            var code: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[i]
                let digit: UInt32
                switch byte {
                case 48...57: digit = UInt32(byte - 48)
                case 65...70: digit = UInt32(byte - 55)
                case 97...102: digit = UInt32(byte - 87)
                default: throw fail("bad \\u escape")
                }
                code = code * 16 + digit
                i += 1
            }
            return code
        }
    }
}
