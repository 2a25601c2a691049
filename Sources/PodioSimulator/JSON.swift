/// A JSON value that keeps the order of object keys, so rendered bytes are deterministic.
///
/// Numbers keep the distinction Podio makes between integers and other numbers: a JSON
/// integer literal parses as `.int`, anything with a fraction or exponent as `.double`.
enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([JSONMember])

    /// Builds an object from an ordered literal list of members.
    static func obj(_ pairs: KeyValuePairs<String, JSON>) -> JSON {
        .object(pairs.map { JSONMember(key: $0.key, value: $0.value) })
    }

    /// Convenience for optional strings: `nil` becomes `null`.
    static func str(_ value: String?) -> JSON {
        value.map(JSON.string) ?? .null
    }

    /// The last member with this key (Podio: "repeated request parameters are discarded;
    /// only the last value counts").
    subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var arrayValue: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// A short name of the JSON type, used in Podio-style validation messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "string"
        case .array: return "list"
        case .object: return "dict"
        }
    }

    /// Appends a member to an object (no-op on other values).
    mutating func append(_ key: String, _ value: JSON) {
        guard case .object(var members) = self else { return }
        members.append(JSONMember(key: key, value: value))
        self = .object(members)
    }

    /// Serialized UTF-8 bytes, compact.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        JSONWriter.write(self, into: &out)
        return out
    }
}

/// One member of a JSON object.
struct JSONMember: Sendable, Equatable {
    var key: String
    var value: JSON
}
