import Foundation

/// A value that can be sent as a text-format statement parameter.
public protocol PGEncodable: Sendable {
    /// PostgreSQL's text input form of the value.
    var pgText: String { get }
}

extension String: PGEncodable {
    public var pgText: String { self }
}

extension Substring: PGEncodable {
    public var pgText: String { String(self) }
}

extension Int: PGEncodable {
    public var pgText: String { String(self) }
}

extension Int64: PGEncodable {
    public var pgText: String { String(self) }
}

extension Int32: PGEncodable {
    public var pgText: String { String(self) }
}

extension Bool: PGEncodable {
    public var pgText: String { self ? "t" : "f" }
}

extension Double: PGEncodable {
    public var pgText: String { String(self) }
}

extension Decimal: PGEncodable {
    public var pgText: String { "\(self)" }
}

extension Date: PGEncodable {
    /// ISO 8601 in UTC with microseconds, which `timestamptz` reads exactly.
    public var pgText: String { PGTimestamp.format(self) }
}

extension Array: PGEncodable where Element: PGEncodable {
    /// An array literal (`{"a","b"}`) with every element quoted and escaped.
    public var pgText: String {
        "{"
            + map { element in
                let text = element.pgText.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "\"", with: "\\\"")
                return "\"\(text)\""
            }.joined(separator: ",") + "}"
    }
}
