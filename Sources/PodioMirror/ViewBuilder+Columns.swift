/// How one active field becomes columns of its app's view (docs/views.md, "Types").
struct ViewField: Sendable, Equatable {
    var fieldID: Int
    var externalID: String?
    var label: String?
    var type: String
    /// `config.settings.multiple` is true.
    var multiple: Bool
    /// `config.settings.end` (`enabled`, `disabled`, `required`), nil when absent.
    var endSetting: String?
    /// `config.settings.time` (`enabled`, `disabled`, `required`), nil when absent.
    var timeSetting: String?
    /// `config.settings.return_type` of a calculation (`number`, `date`, `text`, …).
    var returnType: String?
}

extension ViewField {
    /// Where the field's join goes in the FROM clause: lower first. PostgreSQL reorders at most
    /// `join_collapse_limit` (8) explicit joins together; with more, only the first seven joins
    /// can drive a `SELECT *` from an index (a query naming its columns drops the other joins, so
    /// then every column can). The first places go to the types people filter on most.
    var joinRank: Int {
        switch type {
        case "category", "question", "number", "money", "progress", "duration", "date", "calculation": 0
        default: 1
        }
    }
}

/// The shape of a field's column(s) and where the value comes from in `podio.item_values`.
enum ColumnKind: Sendable, Equatable {
    /// Single value, `value_text` of position 0.
    case text
    /// Single value, `value_number`.
    case numeric
    /// `value_number` and `value_kind` (the currency) as `<name>_currency`.
    case money
    /// Single value, `value_number` as integer.
    case integer
    /// Single value, `value_number` seconds as interval.
    case interval
    /// Timed date: start (and `<name>_end`) as timestamptz.
    case timestamp(end: Bool)
    /// All-day date: start (and `<name>_end`) as date.
    case date(end: Bool)
    /// Text of a calculation: its text, or its number as text.
    case calculationText
    /// Multi-valued text (`value_text` of every position, in order) as text[].
    case textArray
    /// Multi-valued ids (`value_ref`) as bigint[].
    case idArray
    /// Unknown type: the raw value objects, as a jsonb array.
    case raw
    /// A layout-only field (separator): no column.
    case none

    /// Decides the column of a field from its type and settings.
    init(_ field: ViewField) {
        switch field.type {
        case "text", "tel", "location", "embed":
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
            self = field.multiple ? .textArray : .text
        case "app", "contact", "image", "file":
            self = .idArray
        case "email", "phone":
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
            self = .raw
        }
    }

    /// Suffixes of the extra columns this kind adds after its own.
    var companions: [String] {
        switch self {
        case .money: ["_currency"]
        case .timestamp(end: true), .date(end: true): ["_end"]
        default: []
        }
    }

    /// True when the column reads position 0 through a LEFT JOIN (single-valued kinds): a filter
    /// on it then becomes an index scan of `podio.item_values`.
    var isJoined: Bool {
        switch self {
        case .textArray, .idArray, .raw, .none: false
        default: true
        }
    }

    /// The typed column of `podio.item_values` that holds a value of this kind. The join
    /// requires it non-NULL (which changes no result: a row without it reads as NULL anyway), so
    /// the planner may read the field's rows through the partial index on `(field_id, <column>)`
    /// instead of scanning every value of every app.
    var presentColumn: String? {
        switch self {
        case .text: "value_text"
        case .numeric, .money, .integer, .interval: "value_number"
        case .timestamp, .date: "value_start_date"
        default: nil
        }
    }

    /// The SQL type the column has, for documentation and tests (companions: text, or the
    /// kind's own type for `_end`).
    var sqlType: String? {
        switch self {
        case .text, .calculationText: "text"
        case .numeric, .money: "numeric"
        case .integer: "integer"
        case .interval: "interval"
        case .timestamp: "timestamp with time zone"
        case .date: "date"
        case .textArray: "text[]"
        case .idArray: "bigint[]"
        case .raw: "jsonb"
        case .none: nil
        }
    }
}

/// One output column of a view: its name and the SQL expression that computes it.
struct ViewColumn: Sendable, Equatable {
    var name: String
    var expression: String
    var fieldID: Int?
    /// What the column holds, for the column's comment.
    var comment: String
}

/// The SELECT of one app's view, written from its fields (pure: no database access).
struct ViewDefinition: Sendable {
    var appID: Int
    var columns: [ViewColumn]
    /// `LEFT JOIN` clauses, one per single-valued field, in the order they are written: the
    /// likely filter columns first (see `joinRank`).
    var joins: [String] {
        rankedJoins.enumerated().sorted { ($0.element.rank, $0.offset) < ($1.element.rank, $1.offset) }.map(\.element.clause)
    }
    private var rankedJoins: [(rank: Int, clause: String)] = []

    /// PostgreSQL refuses more than 1,664 result columns; fields past this many are left out
    /// (and logged).
    static let maxColumns = 1_600

    /// The fields that did not fit (beyond `maxColumns`).
    var omittedFieldIDs: [Int] = []

    init(appID: Int, fields: [ViewField]) {
        self.appID = appID
        columns = [
            ViewColumn(name: "item_id", expression: "i.item_id", fieldID: nil, comment: "Podio item id"),
            ViewColumn(name: "app_item_id", expression: "i.app_item_id", fieldID: nil, comment: "item number within the app"),
            ViewColumn(name: "title", expression: "i.title", fieldID: nil, comment: "item title"),
            ViewColumn(name: "created_on", expression: "i.created_on", fieldID: nil, comment: "created (UTC)"),
            ViewColumn(name: "last_edit_on", expression: "i.last_edit_on", fieldID: nil, comment: "last edited (UTC)"),
        ]
        var namer = ViewNaming.ColumnNamer()
        for field in fields {
            let kind = ColumnKind(field)
            if kind == .none { continue }
            if columns.count + 1 + kind.companions.count > Self.maxColumns {
                omittedFieldIDs.append(field.fieldID)
                continue
            }
            let base = ViewNaming.ColumnNamer.baseName(fieldID: field.fieldID, externalID: field.externalID, label: field.label)
            let name = namer.claim(base: base, companions: kind.companions)
            let about = "field \(field.fieldID) (\(field.type)): \(field.label ?? field.externalID ?? "")"
            let id = field.fieldID
            if kind.isJoined {
                let alias = "f\(rankedJoins.count + 1)"
                let present = kind.presentColumn.map { " AND \(alias).\($0) IS NOT NULL" } ?? ""
                rankedJoins.append(
                    (
                        field.joinRank,
                        "LEFT JOIN podio.item_values AS \(alias) ON \(alias).item_id = i.item_id AND \(alias).field_id = \(id) AND \(alias).position = 0"
                            + present
                    ))
                for (offset, expression) in Self.joinedExpressions(kind, alias).enumerated() {
                    let columnName = offset == 0 ? name : name + kind.companions[offset - 1]
                    let note = offset == 0 ? about : about + " \(kind.companions[offset - 1].dropFirst())"
                    columns.append(ViewColumn(name: columnName, expression: expression, fieldID: id, comment: note))
                }
            } else {
                columns.append(ViewColumn(name: name, expression: Self.aggregate(kind, fieldID: id), fieldID: id, comment: about))
            }
        }
    }

    /// Expressions over the joined row `a` of `podio.item_values`: the column, then its companions.
    static func joinedExpressions(_ kind: ColumnKind, _ a: String) -> [String] {
        switch kind {
        case .text:
            return ["\(a).value_text"]
        case .calculationText:
            return ["coalesce(\(a).value_text, \(a).value_number::text)"]
        case .numeric:
            return ["\(a).value_number"]
        case .money:
            return ["\(a).value_number", "\(a).value_kind"]
        case .integer:
            // Guarded so that an absurd value reads as NULL instead of failing every query.
            return [
                "CASE WHEN \(a).value_number BETWEEN -2147483648 AND 2147483647 THEN round(\(a).value_number)::integer END"
            ]
        case .interval:
            return [
                "CASE WHEN abs(\(a).value_number) < 1e15 THEN make_interval(secs => \(a).value_number::double precision) END"
            ]
        case .timestamp(let end):
            return end ? [moment(a, "start"), moment(a, "end")] : [moment(a, "start")]
        case .date(let end):
            return end ? ["\(a).value_start_date", "\(a).value_end_date"] : ["\(a).value_start_date"]
        case .textArray, .idArray, .raw, .none:
            return []
        }
    }

    /// The instant of a date value: its UTC time, or midnight UTC of an all-day value (a timed
    /// field may hold all-day values, as its time is optional). Written as the UTC date plus the
    /// time of day, not as `coalesce(start, date)`, because this form is NULL exactly when the date
    /// is (strict), so a filter on the column turns the LEFT JOIN into a join driven by the index
    /// `item_values_field_moment_idx` of schema.sql, whose expression must stay identical.
    static func moment(_ a: String, _ side: String) -> String {
        "((\(a).value_\(side)_date + coalesce((\(a).value_\(side) AT TIME ZONE 'UTC') - \(a).value_\(side)_date, interval '0')) AT TIME ZONE 'UTC')"
    }

    /// A correlated subquery over every position of a multi-valued field: NULL when the item
    /// has no value, never an empty array. Not evaluated at all when a query does not use it.
    static func aggregate(_ kind: ColumnKind, fieldID: Int) -> String {
        let (element, type) =
            switch kind {
            case .textArray: ("v.value_text", "text[]")
            case .idArray: ("v.value_ref", "bigint[]")
            default: ("v.value", "jsonb")
            }
        let match = "v.item_id = i.item_id AND v.field_id = \(fieldID)"
        if type == "jsonb" {
            return "(SELECT jsonb_agg(v.value ORDER BY v.position) FROM podio.item_values AS v WHERE \(match))"
        }
        return "(SELECT array_agg(\(element) ORDER BY v.position)::\(type) FROM podio.item_values AS v WHERE \(match) AND \(element) IS NOT NULL)"
    }

    /// `CREATE VIEW` for the view `name` in `podio_views`.
    func createStatement(viewName: String) -> String {
        let select = columns.map { "    \($0.expression) AS \(ViewNaming.quoteIdentifier($0.name))" }.joined(separator: ",\n")
        let joinText = joins.map { "\n" + $0 }.joined()
        return """
            CREATE VIEW podio_views.\(ViewNaming.quoteIdentifier(viewName)) AS
            SELECT
            \(select)
            FROM podio.items AS i\(joinText)
            WHERE i.app_id = \(appID) AND i.deleted_at IS NULL
            """
    }
}
