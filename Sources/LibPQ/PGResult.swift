import Foundation

/// The rows of a statement's result, copied out of libpq (the `PGresult` is already cleared).
public struct PGResult: Sendable {
    public let columns: [String]
    public let rows: [PGRow]
    /// Rows affected by INSERT/UPDATE/DELETE/COPY (`PQcmdTuples`), 0 when not applicable.
    public let affectedRows: Int

    public init(columns: [String], rows: [PGRow], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    /// The first row, if any.
    public var first: PGRow? { rows.first }
}

/// One row of a result: text values by column position or name.
public struct PGRow: Sendable {
    public let values: [String?]
    let columnIndex: [String: Int]

    init(values: [String?], columnIndex: [String: Int]) {
        self.values = values
        self.columnIndex = columnIndex
    }

    /// The text value of a column, `nil` for SQL NULL or an unknown column.
    public subscript(_ column: String) -> String? {
        guard let i = columnIndex[column], i < values.count else { return nil }
        return values[i]
    }

    public subscript(_ index: Int) -> String? {
        index < values.count ? values[index] : nil
    }

    public func string(_ column: String) -> String? { self[column] }

    public func int(_ column: String) -> Int? { self[column].flatMap { Int($0) } }

    public func int64(_ column: String) -> Int64? { self[column].flatMap { Int64($0) } }

    public func bool(_ column: String) -> Bool? {
        switch self[column] {
        case "t": true
        case "f": false
        default: nil
        }
    }

    public func double(_ column: String) -> Double? { self[column].flatMap { Double($0) } }

    /// A `numeric` value as an exact `Decimal` (no floating point on the way).
    public func decimal(_ column: String) -> Decimal? {
        self[column].flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) }
    }

    /// A `timestamptz` value.
    public func date(_ column: String) -> Date? { self[column].flatMap(PGTimestamp.parse) }
}
