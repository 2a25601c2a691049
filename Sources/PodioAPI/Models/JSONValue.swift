import Foundation

/// Any JSON value, decoded without loss (numbers keep their text, so no float rounding).
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    /// The number's text as sent, e.g. "48.8583701".
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? container.decode(Decimal.self) {
            self = .number("\(d)")
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public subscript(_ key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var int: Int? {
        switch self {
        case .number(let n): Int(n)
        case .string(let s): Int(s)
        default: nil
        }
    }

    /// A number, or a number sent as a string (Podio's 4-decimal strings), exactly.
    public var decimal: Decimal? {
        switch self {
        case .number(let n): Decimal(string: n, locale: Locale(identifier: "en_US_POSIX"))
        case .string(let s): PodioTime.decimal(s)
        default: nil
        }
    }
}
