/// The shape of a field's columns in its app table, decided from its type and settings
/// (docs/tables.md, "Types"). A field has a main column and, for some kinds, companions:
/// `<name>_currency` for money, `<name>_end` for date ranges.
enum ColumnKind: Sendable, Equatable {
    case text
    case numeric
    /// Amount (numeric) and `<name>_currency` (text).
    case money
    case integer
    /// Seconds as an interval.
    case interval
    /// Timed date: start (and `<name>_end`) as timestamptz.
    case timestamp(end: Bool)
    /// All-day date: start (and `<name>_end`) as date.
    case date(end: Bool)
    /// Text of a calculation: its text, or its number as text.
    case calculationText
    case textArray
    case idArray
    /// Any other type (unknown, or legacy without a readable shape: `video`, `media`): the
    /// value objects as received, a jsonb array, kept without a warning.
    case json
    /// A layout-only field (separator): no column.
    case none

    init(_ field: AppField) {
        switch field.type {
        case "text", "tel", "location", "embed", "state":
            // `state` (legacy): one text of the field's `allowed_values`.
            self = .text
        case "number":
            self = .numeric
        case "money":
            self = .money
        case "progress":
            self = .integer
        case "duration":
            self = .interval
        case "date":
            let end = field.endSetting != "disabled"
            self = field.timeSetting == "disabled" ? .date(end: end) : .timestamp(end: end)
        case "category", "question":
            // `question` (legacy) reads like a category: option objects.
            self = field.multiple ? .textArray : .text
        case "app", "contact", "image", "file", "member":
            // `member` (legacy): user ids.
            self = .idArray
        case "email", "phone", "tag":
            // `tag` (legacy): texts.
            self = .textArray
        case "calculation":
            switch field.returnType?.lowercased() {
            case "date", "datetime": self = .timestamp(end: false)
            case "text", "string", "undefined": self = .calculationText
            default: self = .numeric
            }
        case "separator":
            self = .none
        default:
            self = .json
        }
    }

    /// The columns of this kind: the main one first, then its companions.
    var parts: [(part: ColumnPart, kind: ColumnPart.Kind)] {
        switch self {
        case .text: [(.value, .text)]
        case .numeric: [(.value, .numeric)]
        case .money: [(.value, .numeric), (.currency, .currency)]
        case .integer: [(.value, .integer)]
        case .interval: [(.value, .interval)]
        case .timestamp(let end): end ? [(.value, .moment), (.end, .moment)] : [(.value, .moment)]
        case .date(let end): end ? [(.value, .date), (.end, .date)] : [(.value, .date)]
        case .calculationText: [(.value, .calculationText)]
        case .textArray: [(.value, .textArray)]
        case .idArray: [(.value, .idArray)]
        case .json: [(.value, .json)]
        case .none: []
        }
    }

    /// Suffixes of the companion columns, in the order of `parts`.
    var companions: [String] { parts.dropFirst().map { $0.part.suffix } }
}
