/// Which of a field's columns: its main one or a companion.
public enum ColumnPart: String, Sendable, Equatable, Hashable, CaseIterable {
    case value
    case currency
    case end

    /// What the companion's name adds to the main column's name.
    var suffix: String {
        switch self {
        case .value: ""
        case .currency: "_currency"
        case .end: "_end"
        }
    }

    /// The SQL type of one column and the function of schema.sql that computes it from the
    /// field's `values` array. Stored in `podio.app_columns.kind`, so the writers follow the
    /// table as it is (a type change a user's view blocked keeps the old kind).
    public enum Kind: String, Sendable, Equatable {
        case text
        case numeric
        case currency
        case integer
        case interval
        case moment
        case date
        case calculationText = "calc_text"
        case textArray = "text_array"
        case idArray = "id_array"
        case json

        /// The column's type as `format_type` spells it.
        public var sqlType: String {
            switch self {
            case .text, .currency, .calculationText: "text"
            case .numeric: "numeric"
            case .integer: "integer"
            case .interval: "interval"
            case .moment: "timestamp with time zone"
            case .date: "date"
            case .textArray: "text[]"
            case .idArray: "bigint[]"
            case .json: "jsonb"
            }
        }

        /// The SQL that computes the column of `part` for a field of type `fieldType` (a quoted
        /// literal) from `values`, an expression giving the field's `values` array.
        func expression(part: ColumnPart, fieldType: String, values: String) -> String {
            let side = part == .end ? "'end'" : "'start'"
            return switch self {
            case .text: "podio.col_text(\(fieldType), \(values))"
            case .numeric: "podio.col_numeric(\(fieldType), \(values))"
            case .currency: "podio.col_currency(\(fieldType), \(values))"
            case .integer: "podio.col_integer(\(fieldType), \(values))"
            case .interval: "podio.col_interval(\(fieldType), \(values))"
            case .moment: "podio.col_moment(\(fieldType), \(values), \(side))"
            case .date: "podio.col_date(\(fieldType), \(values), \(side))"
            case .calculationText: "podio.col_calc_text(\(fieldType), \(values))"
            case .textArray: "podio.col_text_array(\(fieldType), \(values))"
            case .idArray: "podio.col_id_array(\(fieldType), \(values))"
            case .json: "podio.col_json(\(fieldType), \(values))"
            }
        }
    }
}
