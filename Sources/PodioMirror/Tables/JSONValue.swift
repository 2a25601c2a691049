/// A JSON value read the way PostgreSQL's `jsonb` reads it, so that Swift can type a page's
/// values with the same results as the `podio.col_*` functions of schema.sql (`ValueTyper`).
///
/// What `jsonb` does, and this type with it: a number keeps its decimal value (`numeric`, not a
/// double; `NumericText` gives its text), an object keeps the last of duplicate keys, and the
/// text of a nested value (`->>` of an object or array) is `jsonb`'s own output (`jsonbText`).
indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's literal as received (JSON's grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members as received, duplicates included: lookups find the last of a key (as `jsonb`
    /// keeps it), `jsonbText` prints them in `jsonb`'s order.
    case object([(key: String, value: JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)):
            Self.jsonbMembers(x).count == Self.jsonbMembers(y).count
                && zip(Self.jsonbMembers(x), Self.jsonbMembers(y)).allSatisfy {
                    $0.key == $1.key && $0.value == $1.value
                }
        default: false
        }
    }

    /// `jsonb_typeof`.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// `v -> 'key'`: the member of an object (nil for anything else).
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// `v -> 0`: the element of an array (nil for anything else).
    subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// `v ? 'key'`: an object's key, a string element of an array, or the string itself.
    func has(_ key: String) -> Bool {
        switch self {
        case .object(let members): members.contains { $0.key == key }
        case .array(let elements): elements.contains { $0 == .string(key) }
        case .string(let text): text == key
        default: false
        }
    }

    /// `->>`: the text of a value (nil for JSON null), `jsonb`'s output for numbers and nested values.
    var text: String? {
        switch self {
        case .null: nil
        case .string(let text): text
        default: jsonbText
        }
    }

    /// `jsonb_out`: the text PostgreSQL prints for the value.
    var jsonbText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let literal): out += NumericText(literal: literal)?.text ?? literal
        case .string(let text): Self.writeString(text, to: &out)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += ", " }
                element.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, member) in Self.jsonbMembers(members).enumerated() {
                if index > 0 { out += ", " }
                Self.writeString(member.key, to: &out)
                out += ": "
                member.value.write(to: &out)
            }
            out += "}"
        }
    }

    /// PostgreSQL's `escape_json`.
    private static func writeString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// Members in `jsonb`'s order (shorter keys first, then by bytes), the last of duplicates kept.
    static func jsonbMembers(_ members: [(key: String, value: JSONValue)]) -> [(key: String, value: JSONValue)] {
        var indexed = members.enumerated().map {
            (order: $0.offset, key: Array($0.element.key.utf8), member: $0.element)
        }
        indexed.sort { a, b in
            if a.key.count != b.key.count { return a.key.count < b.key.count }
            if a.key != b.key { return a.key.lexicographicallyPrecedes(b.key) }
            return a.order > b.order
        }
        var unique: [(key: String, value: JSONValue)] = []
        unique.reserveCapacity(indexed.count)
        var previous: [UInt8]?
        for entry in indexed where entry.key != previous {
            unique.append(entry.member)
            previous = entry.key
        }
        return unique
    }
}
