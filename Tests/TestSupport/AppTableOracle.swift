import Foundation
import LibPQ

/// The oracle of the app tables (`podio_apps."<table_name>"`, one per app): their rows, their
/// columns and column types, and every typed value, checked against the simulator's ground
/// truth (`GET /_sim/truth`).
///
/// Expected columns and values are computed here, in Swift, from the field definitions and the
/// item JSON of the truth: the column names by the naming rules of docs/tables.md ("Naming",
/// `OracleNaming`), the column types and values by its type mapping ("Types"). Nothing of the
/// project's naming, layout or SQL (`TableNaming`, `ColumnKind`, `podio.value_*`, `podio.to_utc`,
/// `podio.col_*`, …) is used, so a mistake there cannot hide itself; `podio.app_columns` is only
/// checked against the expected names, never read for them. The mirror's values are read with
/// PostgreSQL's own casts and compared, byte for byte, in one canonical text per column type:
///
/// | column type | canonical text |
/// | --- | --- |
/// | `text` | the text |
/// | `numeric`, `integer`, `bigint` | `::text` (numeric keeps its scale: `6513.5100`) |
/// | `interval` | its seconds (`extract(epoch …)`) without trailing zeros: `93784` |
/// | `timestamptz` | `YYYY-MM-DD HH:MM:SS.ffffff` in UTC |
/// | `date` | `YYYY-MM-DD` |
/// | `text[]`, `bigint[]` | a JSON array: `["a","b"]`, `[1,2]` |
/// | `jsonb` | JSON with sorted keys, after parsing both sides |
public enum AppTableOracle {
    /// Lines returned at most.
    static let limit = 20
    /// Detailed lines of one column (or of missing or extra rows) before the rest are counted.
    static let examples = 3

    /// Differences between the app tables of `apps` and the truth: an app without a table,
    /// missing or extra columns, columns of the wrong type, missing or extra rows, and values that
    /// differ ("app A item I column C: mirror X, podio Y"). References to items that are deleted
    /// or not live in the truth are removed from both sides before app references compare:
    /// Podio drops them without a new revision of the referencing item. Empty means equal; at
    /// most 20 lines, sorted.
    public static func differences(_ db: PGConnection, truth: String, apps: [Int]) throws -> [String] {
        let parsed = try Truth(json: truth)
        var lines: [String] = []
        for appID in Set(apps).sorted() {
            guard let app = parsed.apps[appID] else {
                lines.append("app \(appID): not in the truth")
                continue
            }
            lines += try compare(db, app: app, live: parsed.live)
        }
        return Array(lines.sorted().prefix(limit))
    }

    /// The differences of one app.
    static func compare(_ db: PGConnection, app: TruthApp, live: Set<Int>) throws -> [String] {
        let a = "app \(app.id)"
        guard let appRow = try db.query("SELECT table_name FROM podio.apps WHERE app_id = $1", [app.id]).first else {
            return ["\(a): no row in podio.apps"]
        }
        guard let tableName = appRow["table_name"] else { return ["\(a): podio.apps.table_name is NULL"] }
        let table = "podio_apps." + quote(tableName)
        guard try db.query("SELECT to_regclass($1) IS NOT NULL AS present", [table]).first?.bool("present") == true
        else {
            return ["\(a): table \(table) does not exist"]
        }
        var actualTypes: [String: String] = [:]
        let attributes = try db.query(
            """
            SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
            """, [table])
        for attribute in attributes.rows {
            if let name = attribute["name"] { actualTypes[name] = attribute["type"] ?? "" }
        }

        // The columns the truth calls for: the fixed ones, then each part of each active field,
        // named by the documented rules (`OracleNaming`) from the truth's definitions. A field
        // no live item has a value in, none of whose columns the table has, may be one the
        // mirror has not read yet (added in Podio since the definition was last read): it loses
        // nothing, and it is left out, of the names too. A column an object of a user's depends
        // on that no field maps to is a kept column (docs/tables.md): left alone, its name
        // never handed out.
        var lines: [String] = []
        let dependedOn = Set(
            try db.query(
                """
                SELECT DISTINCT a.attname::text AS name
                FROM pg_depend AS d
                JOIN pg_rewrite AS r ON r.oid = d.objid AND d.classid = 'pg_rewrite'::regclass
                JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.refobjid = $1::regclass AND r.ev_class <> d.refobjid
                """, [table]
            ).rows.compactMap { $0["name"] })
        func hasValues(_ field: TruthField) -> Bool {
            app.items.contains { item in ((item.values[field.id] as? [Any])?.isEmpty == false) }
        }
        var included = app.fields.filter(\.active)
        var kept: Set<String> = []
        var names: [Int: [String: String]] = [:]
        while true {
            names = OracleNaming.columnNames(included.map(\.naming), reserved: kept)
            let unread = Set(
                included.filter { field in
                    !hasValues(field) && (names[field.id] ?? [:]).values.allSatisfy { actualTypes[$0] == nil }
                }.map(\.id))
            let named = Set(names.values.flatMap(\.values))
            let newlyKept = dependedOn.subtracting(OracleNaming.fixedColumns).subtracting(named).subtracting(kept)
            if unread.isEmpty && newlyKept.isEmpty { break }
            included.removeAll { unread.contains($0.id) }
            kept.formUnion(newlyKept)
        }
        var columns = fixedColumns
        var expectedNames: [FieldPart: String] = [:]
        for field in included {
            for (part, rule) in parts(of: field) {
                guard let name = names[field.id]?[part] else { continue }
                expectedNames[FieldPart(field: field.id, part: part)] = name
                columns.append(Column(name: name, fieldID: field.id, rule: rule))
            }
        }

        // The engine's record of its columns (`podio.app_columns`, "which column is which
        // field") must say the same.
        var recorded: [FieldPart: String] = [:]
        let mapping = try db.query(
            """
            SELECT field_id::text AS field_id, part, column_name FROM podio.app_columns
            WHERE app_id = $1 AND state IN ('active', 'stale')
            """, [app.id])
        for entry in mapping.rows {
            guard let fieldID = entry.int("field_id"), let part = entry["part"], let name = entry["column_name"] else {
                lines.append("\(a): a row of podio.app_columns has a NULL field_id, part or column_name")
                continue
            }
            recorded[FieldPart(field: fieldID, part: part)] = name
        }
        for (key, name) in expectedNames where recorded[key] != name {
            lines.append(
                "\(a) field \(key.field) part \(key.part): podio.app_columns says "
                    + "\(recorded[key].map(quote) ?? "nothing"), expected \(quote(name))")
        }
        for (key, name) in recorded where expectedNames[key] == nil {
            lines.append(
                "\(a) column \(quote(name)): in podio.app_columns for field \(key.field) part \(key.part), "
                    + "which has no column by the truth")
        }

        // The table's columns: present, of the right type, and nothing else.
        var readable: [Column] = []
        for column in columns {
            guard let type = actualTypes[column.name] else {
                lines.append("\(a) column \(quote(column.name)): missing from \(table)")
                continue
            }
            guard type == column.rule.sqlType.rawValue else {
                lines.append(
                    "\(a) column \(quote(column.name)): type \(type), expected \(column.rule.sqlType.rawValue)")
                continue
            }
            readable.append(column)
        }
        // Kept columns are left alone.
        let known = Set(columns.map(\.name)).union(kept)
        for name in actualTypes.keys where !known.contains(name) {
            lines.append("\(a) column \(quote(name)): in \(table) but no active field maps to it")
        }
        guard actualTypes["item_id"] != nil else { return lines }

        // The rows, each column in its canonical text.
        let select = ([quote("item_id") + "::text"] + readable.map { readExpression($0) })
            .enumerated().map { "\($0.element) AS c\($0.offset)" }.joined(separator: ", ")
        var actualRows: [String: [String?]] = [:]
        var duplicates: [String: Int] = [:]
        for row in try db.query("SELECT \(select) FROM \(table)").rows {
            guard let key = row[0] else {
                lines.append("\(a): a row of \(table) has a NULL item_id")
                continue
            }
            if actualRows[key] != nil { duplicates[key, default: 1] += 1 }
            actualRows[key] = row.values
        }
        for (key, count) in duplicates { lines.append("\(a) item \(key): \(count) rows in \(table)") }

        var missing: [String] = []
        var differing: [String: [String]] = [:]
        for item in app.items {
            guard let actual = actualRows.removeValue(forKey: String(item.id)) else {
                missing.append("\(a) item \(item.id): missing from \(table)")
                continue
            }
            for (index, column) in readable.enumerated() where index + 1 < actual.count {
                let podio = expected(column, item: item, live: live)
                let mirror = canonical(actual[index + 1], column: column, live: live)
                if !same(mirror, podio) {
                    differing[column.name, default: []].append(
                        "\(a) item \(item.id) column \(quote(column.name)): mirror \(show(mirror, column)), podio \(show(podio, column))"
                    )
                }
            }
        }
        lines += summarized(missing, count: "\(a): \(missing.count) live items missing from \(table)")
        let extra = actualRows.keys.sorted { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
            .map { "\(a) item \($0): in \(table) but not live in Podio" }
        lines += summarized(extra, count: "\(a): \(extra.count) rows in \(table) that are not live items in Podio")
        for (name, found) in differing {
            lines += summarized(found, count: "\(a) column \(quote(name)): \(found.count) items differ")
        }
        return lines
    }

    /// The first `examples` lines, and a line with the count in place of the others.
    static func summarized(_ details: [String], count: String) -> [String] {
        details.count > examples ? Array(details.prefix(examples)) + [count] : details
    }
}

// MARK: - The truth

extension AppTableOracle {
    /// The parts of `GET /_sim/truth` the oracle needs.
    struct Truth {
        var apps: [Int: TruthApp] = [:]
        /// Ids of the items live in Podio: in some app's `items` and not in `deleted_item_ids`.
        var live: Set<Int> = []

        init(json: String) throws {
            let root: Any
            do {
                root = try JSONSerialization.jsonObject(with: Data(json.utf8))
            } catch {
                throw OracleError(message: "the truth is not JSON: \(error)")
            }
            guard let object = root as? [String: Any], let apps = object["apps"] as? [Any] else {
                throw OracleError(message: "the truth has no \"apps\" array")
            }
            let deleted = Set(((object["deleted_item_ids"] as? [Any]) ?? []).compactMap { AppTableOracle.plainInt($0) })
            for case let appObject as [String: Any] in apps {
                guard let id = AppTableOracle.plainInt(appObject["app_id"]) else { continue }
                var fields: [TruthField] = []
                for case let definition as [String: Any] in (appObject["fields"] as? [Any]) ?? [] {
                    guard let field = TruthField(definition), !fields.contains(where: { $0.id == field.id }) else {
                        continue
                    }
                    fields.append(field)
                }
                var items: [TruthItem] = []
                for case let itemObject as [String: Any] in (appObject["items"] as? [Any]) ?? [] {
                    guard let item = TruthItem(itemObject), !deleted.contains(item.id) else { continue }
                    items.append(item)
                    live.insert(item.id)
                }
                items.sort { $0.id < $1.id }
                self.apps[id] = TruthApp(id: id, fields: fields, items: items)
            }
        }
    }

    struct TruthApp {
        var id: Int
        /// Every definition, deleted ones included, in the truth's order.
        var fields: [TruthField]
        /// Live items, by item id.
        var items: [TruthItem]
    }

    /// A field definition (`app.fields[]`).
    struct TruthField {
        var id: Int
        var externalID: String?
        var label: String?
        /// `config.delta`, Podio's order of the fields.
        var position: Int?
        var type: String
        /// `status` is `active` or absent.
        var active: Bool
        /// `config.settings`.
        var settings: [String: Any]

        init?(_ object: [String: Any]) {
            guard let id = AppTableOracle.plainInt(object["field_id"]) else { return nil }
            self.id = id
            externalID = object["external_id"] as? String
            label = object["label"] as? String
            let config = object["config"] as? [String: Any]
            position = AppTableOracle.plainInt(config?["delta"])
            type = object["type"] as? String ?? ""
            let status = object["status"] as? String
            active = status == nil || status == "active"
            settings = (config?["settings"] as? [String: Any]) ?? [:]
        }

        /// The field as the naming rules see it, with the parts its type and settings call for.
        var naming: OracleNaming.Field {
            OracleNaming.Field(
                id: id, externalID: externalID, label: label, position: position,
                parts: AppTableOracle.parts(of: self).map(\.0))
        }
    }

    /// An item as `GET /item/{id}` serves it.
    struct TruthItem {
        var id: Int
        var json: [String: Any]
        /// The `values` of each field the item has, by field id (the first entry of an id counts).
        var values: [Int: Any]

        init?(_ object: [String: Any]) {
            guard let id = AppTableOracle.plainInt(object["item_id"]) else { return nil }
            self.id = id
            json = object
            var values: [Int: Any] = [:]
            for case let field as [String: Any] in (object["fields"] as? [Any]) ?? [] {
                guard let fieldID = AppTableOracle.plainInt(field["field_id"]), values[fieldID] == nil else { continue }
                values[fieldID] = field["values"] ?? NSNull()
            }
            self.values = values
        }
    }

    struct OracleError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// An integer of the truth's structure (ids, revisions): a JSON integer or a string of one.
    static func plainInt(_ value: Any?) -> Int? {
        if let number = value as? Int { return number }
        if let text = value as? String { return Int(text) }
        return nil
    }
}

// MARK: - Columns and their expected values

extension AppTableOracle {
    /// A column type as `format_type` writes it.
    enum SQLType: String, Sendable {
        case bigint, integer, numeric, text, interval, date, jsonb
        case timestamptz = "timestamp with time zone"
        case textArray = "text[]"
        case bigintArray = "bigint[]"
    }

    /// How a column's value follows from the item: a fixed column, or a reading of the field's
    /// `values` by the README's type table.
    enum Rule: Sendable {
        case itemID, appItemID, title, revision, createdOn, lastEditOn, lastEventOn
        /// The first value's `value`, a string (text, tel).
        case text
        /// The first value's `value` as numeric (number, money, numeric calculation).
        case number
        /// The first value's `currency` (money).
        case currency
        /// The first value's `value`, a whole number that fits `integer`.
        case progress
        /// The first value's `value`, seconds.
        case duration
        /// The first value's `value`: its text, or the number as text.
        case calculationText
        /// The first value's `<side>_utc` (an all-day value: midnight UTC of its date).
        case moment(side: String)
        /// The first value's `<side>_date`, as entered.
        case day(side: String)
        /// The first value's option text.
        case categoryText
        /// Every value's option text, in Podio's order.
        case categoryTexts
        /// Every value's `value`, a string (email, phone).
        case strings
        /// The first value's `formatted`, else its `value`.
        case location
        /// The first value's `embed.resolved_url`, else `url`, else `original_url`.
        case embed
        /// Every value's `value.<key>`: referenced items (compared live only), profiles, files.
        case ids(key: String, references: Bool)
        /// Every value's `value` of a legacy member: a user id (an integer, or a string of one),
        /// or the `user_id` of a user object.
        case userIDs
        /// The `values` array as received.
        case raw

        var sqlType: SQLType {
            switch self {
            case .itemID, .appItemID: .bigint
            case .revision, .progress: .integer
            case .title, .text, .currency, .calculationText, .categoryText, .location, .embed: .text
            case .number: .numeric
            case .duration: .interval
            case .createdOn, .lastEditOn, .lastEventOn, .moment: .timestamptz
            case .day: .date
            case .categoryTexts, .strings: .textArray
            case .ids, .userIDs: .bigintArray
            case .raw: .jsonb
            }
        }
    }

    struct Column: Sendable {
        var name: String
        /// nil for the fixed columns.
        var fieldID: Int?
        var rule: Rule
    }

    struct FieldPart: Hashable {
        var field: Int
        var part: String
    }

    static let fixedColumns: [Column] = [
        Column(name: "item_id", fieldID: nil, rule: .itemID),
        Column(name: "app_item_id", fieldID: nil, rule: .appItemID),
        Column(name: "title", fieldID: nil, rule: .title),
        Column(name: "revision", fieldID: nil, rule: .revision),
        Column(name: "created_on", fieldID: nil, rule: .createdOn),
        Column(name: "last_edit_on", fieldID: nil, rule: .lastEditOn),
        Column(name: "last_event_on", fieldID: nil, rule: .lastEventOn),
    ]

    /// The parts (`value`, `currency`, `end`) of an active field and how each reads, from the
    /// field's type and settings alone.
    static func parts(of field: TruthField) -> [(String, Rule)] {
        let settings = field.settings
        switch field.type {
        case "text", "tel", "state":
            return [("value", .text)]
        case "number":
            return [("value", .number)]
        case "money":
            return [("value", .number), ("currency", .currency)]
        case "progress":
            return [("value", .progress)]
        case "duration":
            return [("value", .duration)]
        case "calculation":
            switch (settings["return_type"] as? String)?.lowercased() {
            case "date", "datetime": return [("value", .moment(side: "start"))]
            case "text", "string", "undefined": return [("value", .calculationText)]
            default: return [("value", .number)]
            }
        case "date":
            let timed = (settings["time"] as? String) != "disabled"
            var parts: [(String, Rule)] = [("value", timed ? .moment(side: "start") : .day(side: "start"))]
            if (settings["end"] as? String) != "disabled" {
                parts.append(("end", timed ? .moment(side: "end") : .day(side: "end")))
            }
            return parts
        case "category", "question":
            return [("value", (settings["multiple"] as? Bool) == true ? .categoryTexts : .categoryText)]
        case "member":
            return [("value", .userIDs)]
        case "app":
            return [("value", .ids(key: "item_id", references: true))]
        case "contact":
            return [("value", .ids(key: "profile_id", references: false))]
        case "image", "file":
            return [("value", .ids(key: "file_id", references: false))]
        case "email", "phone", "tag":
            return [("value", .strings)]
        case "location":
            return [("value", .location)]
        case "embed":
            return [("value", .embed)]
        case "separator":
            return []
        default:
            return [("value", .raw)]
        }
    }

    /// The canonical text Podio's data calls for in `column` of `item`; nil for NULL (no value,
    /// an empty multi-valued field, or a value that cannot be read as the column's type).
    static func expected(_ column: Column, item: TruthItem, live: Set<Int>) -> String? {
        let values = column.fieldID.flatMap { item.values[$0] }
        let array = values as? [Any]
        let first = array?.first as? [String: Any]
        let entries = (array ?? []).compactMap { $0 as? [String: Any] }
        let revision = item.json["current_revision"] as? [String: Any]
        switch column.rule {
        case .itemID:
            return String(item.id)
        case .appItemID:
            return plainInt(item.json["app_item_id"]).map { String($0) }
        case .title:
            return item.json["title"] as? String
        case .revision:
            return (plainInt(revision?["revision"]) ?? plainInt(item.json["revision"])).map { String($0) }
        case .createdOn:
            return (item.json["created_on"] as? String).flatMap { timestamp($0) }
        case .lastEditOn:
            return (revision?["created_on"] as? String).flatMap { timestamp($0) }
        case .lastEventOn:
            return (item.json["last_event_on"] as? String).flatMap { timestamp($0) }
        case .text:
            return first?["value"] as? String
        case .number:
            return decimal(first?["value"])
        case .currency:
            return first?["currency"] as? String
        case .progress:
            return decimal(first?["value"]).flatMap { int32Text($0) }
        case .duration:
            return decimal(first?["value"]).map { trimmed($0) }
        case .calculationText:
            guard let value = first?["value"] else { return nil }
            return value as? String ?? numberLiteral(value)
        case .moment(let side):
            return first.flatMap { moment($0, side: side) }
        case .day(let side):
            return (first?["\(side)_date"] as? String).flatMap { calendarDate($0) }
        case .categoryText:
            return (first?["value"] as? [String: Any])?["text"] as? String
        case .categoryTexts:
            let texts = entries.compactMap { ($0["value"] as? [String: Any])?["text"] as? String }
            return texts.isEmpty ? nil : jsonArray(texts, quoted: true)
        case .strings:
            let texts = entries.compactMap { $0["value"] as? String }
            return texts.isEmpty ? nil : jsonArray(texts, quoted: true)
        case .location:
            return first?["formatted"] as? String ?? first?["value"] as? String
        case .embed:
            let embed = first?["embed"] as? [String: Any]
            return embed?["resolved_url"] as? String ?? embed?["url"] as? String ?? embed?["original_url"] as? String
        case .ids(let key, let references):
            var ids = entries.compactMap { integer(($0["value"] as? [String: Any])?[key]) }
            if references { ids = ids.filter { live.contains($0) } }
            return ids.isEmpty ? nil : jsonArray(ids.map { String($0) }, quoted: false)
        case .userIDs:
            let ids = entries.compactMap { entry -> Int? in
                if let user = entry["value"] as? [String: Any] { return integer(user["user_id"]) }
                return entry["value"].flatMap { integer($0) }
            }
            return ids.isEmpty ? nil : jsonArray(ids.map { String($0) }, quoted: false)
        case .raw:
            guard let array, !array.isEmpty else { return nil }
            return canonicalJSON(array)
        }
    }
}

// MARK: - The mirror's values

extension AppTableOracle {
    /// The SELECT expression that reads `column` as text in a form that does not depend on the
    /// session's settings (TimeZone, DateStyle, IntervalStyle).
    static func readExpression(_ column: Column) -> String {
        let c = quote(column.name)
        switch column.rule.sqlType {
        case .timestamptz: return "to_char(\(c) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
        case .date: return "to_char(\(c), 'YYYY-MM-DD')"
        case .interval: return "extract(epoch FROM \(c))::text"
        case .textArray, .bigintArray: return "array_to_json(\(c))::text"
        case .bigint, .integer, .numeric, .text, .jsonb: return "\(c)::text"
        }
    }

    /// The canonical text of a value read by `readExpression`; a value that does not parse as
    /// expected is kept as read (and so differs).
    static func canonical(_ raw: String?, column: Column, live: Set<Int>) -> String? {
        guard let raw else { return nil }
        switch column.rule.sqlType {
        case .interval:
            return numericText(raw, exponent: true).map { trimmed($0) } ?? raw
        case .jsonb:
            return parsedJSON(raw).flatMap { canonicalJSON($0) } ?? raw
        case .textArray:
            guard let array = parsedJSON(raw) as? [Any] else { return raw }
            var texts: [String?] = []
            for element in array {
                if element is NSNull {
                    texts.append(nil)
                } else if let text = element as? String {
                    texts.append(text)
                } else {
                    return raw
                }
            }
            return jsonArray(texts, quoted: true)
        case .bigintArray:
            guard let array = parsedJSON(raw) as? [Any] else { return raw }
            var ids: [Int?] = []
            for element in array {
                if element is NSNull {
                    ids.append(nil)
                } else if let id = integer(element) {
                    ids.append(id)
                } else {
                    return raw
                }
            }
            if case .ids(_, let references) = column.rule, references {
                // References to items no longer live are not compared; a reference array left
                // empty by that reads as no value, as Podio then sends none.
                let kept = ids.filter { id in id.map { live.contains($0) } ?? true }
                if kept.isEmpty && !ids.isEmpty { return nil }
                ids = kept
            }
            return jsonArray(ids.map { id in id.map { String($0) } }, quoted: false)
        case .bigint, .integer, .numeric, .text, .date, .timestamptz:
            return raw
        }
    }

    /// Equal byte for byte (Swift's `==` on strings would equate canonically equivalent Unicode).
    static func same(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case let (a?, b?): a.utf8.elementsEqual(b.utf8)
        default: false
        }
    }

    /// A value for a difference line: NULL, a quoted and escaped text, or the canonical text;
    /// cut after 80 characters.
    static func show(_ value: String?, _ column: Column) -> String {
        guard let value else { return "NULL" }
        let long = value.count > 80
        let head = long ? String(value.prefix(80)) : value
        let shown = column.rule.sqlType == .text ? String(reflecting: head) : head
        return long ? shown + "… (\(value.utf8.count) bytes)" : shown
    }

    /// A double-quoted SQL identifier.
    static func quote(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

// MARK: - Reading values

extension AppTableOracle {
    static let blanks: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// PostgreSQL's text of a value read as numeric: a JSON string in Podio's plain decimal form
    /// (`[+-]digits[.digits]`, blanks around), or a JSON number; nil for anything else.
    static func decimal(_ value: Any?) -> String? {
        guard let value else { return nil }
        if let text = value as? String { return numericText(text, exponent: false) }
        return numberLiteral(value).flatMap { numericText($0, exponent: true) }
    }

    /// The text PostgreSQL's `numeric` prints for `text`: no sign for zero, no leading zeros,
    /// the scale kept (`+007.50` → `7.50`, `-0.00` → `0.00`); an exponent, when allowed, moves
    /// the point as `numeric` input does (`1.5e-3` → `0.0015`).
    static func numericText(_ text: String, exponent allowExponent: Bool) -> String? {
        let zero = UInt8(ascii: "0")
        var bytes = Array(text.utf8)[...]
        while let first = bytes.first, blanks.contains(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, blanks.contains(last) { bytes = bytes.dropLast() }
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var exponent = 0
        if allowExponent, let mark = bytes.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let value = Int(String(decoding: bytes[(mark + 1)...], as: UTF8.self)), abs(value) <= 1_000 else {
                return nil
            }
            exponent = value
            bytes = bytes[..<mark]
        }
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        let whole = dot.map { bytes[..<$0] } ?? bytes
        let fraction = dot.map { bytes[($0 + 1)...] } ?? []
        guard !whole.isEmpty, whole.allSatisfy({ isDigit($0) }), dot == nil || !fraction.isEmpty,
            fraction.allSatisfy({ isDigit($0) })
        else { return nil }
        var digits = Array(whole) + Array(fraction)
        var scale = fraction.count - exponent
        if scale < 0 {
            digits += Array(repeating: zero, count: -scale)
            scale = 0
        }
        if digits.count <= scale { digits = Array(repeating: zero, count: scale + 1 - digits.count) + digits }
        let cut = digits.count - scale
        let integerPart = digits[..<cut].drop(while: { $0 == zero })
        let isZero = digits.allSatisfy { $0 == zero }
        var result = negative && !isZero ? "-" : ""
        result += integerPart.isEmpty ? "0" : String(decoding: integerPart, as: UTF8.self)
        if scale > 0 { result += "." + String(decoding: digits[cut...], as: UTF8.self) }
        return result
    }

    /// A numeric text without trailing fractional zeros (`93784.000000` → `93784`).
    static func trimmed(_ decimal: String) -> String {
        guard decimal.contains(".") else { return decimal }
        var text = Substring(decimal)
        while text.hasSuffix("0") { text = text.dropLast() }
        if text.hasSuffix(".") { text = text.dropLast() }
        return text == "-0" ? "0" : String(text)
    }

    /// A whole numeric text that fits PostgreSQL's `integer`, or nil.
    static func int32Text(_ decimal: String) -> String? {
        let parts = decimal.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 2, !parts[1].allSatisfy({ $0 == "0" }) { return nil }
        return Int32(parts[0]).map { String($0) }
    }

    /// An id in a value: a JSON integer or a string of one (not `true`, not a fraction).
    static func integer(_ value: Any?) -> Int? {
        guard let value else { return nil }
        if let text = value as? String { return Int(text) }
        return numberLiteral(value).flatMap { Int($0) }
    }

    /// The JSON text of a number as Foundation writes it, nil for anything that is not a number
    /// (booleans are NSNumbers too, and only the writer tells them apart).
    static func numberLiteral(_ value: Any) -> String? {
        if value is String || value is NSNull { return nil }
        guard let data = try? JSONSerialization.data(withJSONObject: [value]) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix("["), text.hasSuffix("]") else { return nil }
        let literal = String(text.dropFirst().dropLast())
        guard let head = literal.utf8.first, head == UInt8(ascii: "-") || isDigit(head) else { return nil }
        return literal
    }

    /// `YYYY-MM-DD` when it is a calendar date, else nil.
    static func calendarDate(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(bytes, 0..<4), let month = number(bytes, 5..<7), let day = number(bytes, 8..<10),
            year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        return text
    }

    /// Podio's `YYYY-MM-DD HH:MM:SS` (UTC) in the canonical form `YYYY-MM-DD HH:MM:SS.000000`, or nil.
    static func timestamp(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count == 19, calendarDate(String(decoding: bytes[0..<10], as: UTF8.self)) != nil,
            bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let hour = number(bytes, 11..<13), let minute = number(bytes, 14..<16), let second = number(bytes, 17..<19),
            hour < 24, minute < 60, second < 60
        else { return nil }
        return text + ".000000"
    }

    /// The instant of one side (`start`, `end`) of a date value, canonical: `<side>_utc` of a
    /// timed value; midnight UTC of the date of an all-day value (its time keys null, or no time
    /// keys and a date-only `<side>_utc`), the date being `<side>_date` as entered. nil when the
    /// side is absent or unreadable.
    static func moment(_ value: [String: Any], side: String) -> String? {
        let utc = value["\(side)_utc"] as? String
        let utcIsDate = utc.map { calendarDate($0) != nil } ?? false
        let marker = value["\(side)_time_utc"] ?? value["\(side)_time"]
        let allDay = marker.map { $0 is NSNull } ?? utcIsDate
        if !allDay, let utc, let instant = timestamp(utc) { return instant }
        guard allDay || utcIsDate else { return nil }
        let entered = (value["\(side)_date"] as? String).flatMap { calendarDate($0) }
        let day = entered ?? utc.flatMap { calendarDate(String($0.prefix(10))) }
        return day.map { $0 + " 00:00:00.000000" }
    }

    static func number(_ bytes: [UInt8], _ range: Range<Int>) -> Int? {
        var value = 0
        for index in range {
            guard isDigit(bytes[index]) else { return nil }
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
        }
        return value
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// A JSON array of the elements (quoted as JSON strings, or written as they are), null for
    /// nil: the canonical text of array columns on both sides.
    static func jsonArray(_ elements: [String?], quoted: Bool) -> String {
        "[" + elements.map { element in element.map { quoted ? jsonString($0) : $0 } ?? "null" }.joined(separator: ",")
            + "]"
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func parsedJSON(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// JSON with sorted keys, written by Foundation from a parsed value: both sides go through
    /// the same parser and writer, so only their content decides.
    static func canonicalJSON(_ value: Any) -> String? {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }
}
