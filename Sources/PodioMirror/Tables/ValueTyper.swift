/// The typed columns of an app table computed in Swift: the same results as the `podio.col_*`
/// functions of schema.sql (which still fill a table from `podio.items.raw`), written as the
/// text PostgreSQL reads in `COPY` (docs/tables.md, "Types"; the differential test types the
/// same values both ways).
///
/// Every function follows its SQL namesake line by line: `t` is the field's type, `v` one
/// entry of its `values` array, `vals` the array (nil when the item has no such field). A value
/// of a shape it cannot read gives nil, never an error.
enum ValueTyper {
    /// The column's value as `COPY` text in the staging column's type (`stagingType`), or nil
    /// for NULL. An interval is staged as its seconds (`double precision`); `make_interval`
    /// turns it into the column's value in the upsert (`finalExpression`).
    static func copyText(kind: ColumnPart.Kind, part: ColumnPart, fieldType t: String, values vals: JSONValue?)
        -> String?
    {
        let first = vals?[0]
        switch kind {
        case .text: return valueText(t, first)
        case .numeric: return valueNumber(t, first)?.text
        case .currency:
            guard t == "money", case .string(let currency)? = first?["currency"] else { return nil }
            return currency
        case .integer: return valueNumber(t, first)?.roundedInt32.map { String($0) }
        case .interval:
            guard let seconds = valueNumber(t, first), seconds.belowE15 else { return nil }
            return seconds.text
        case .moment:
            return part == .end
                ? valueMoment(t, first, start: "end_utc")
                    ?? valueDate(t, first, side: "end").map { $0 + " 00:00:00+00" }
                : valueMoment(t, first, start: "start_utc")
                    ?? valueDate(t, first, side: "start").map { $0 + " 00:00:00+00" }
        case .date: return valueDate(t, first, side: part == .end ? "end" : "start")
        case .calculationText: return valueText(t, first) ?? valueNumber(t, first)?.text
        case .textArray:
            let texts = elements(vals).compactMap { valueText(t, $0) }
            return texts.isEmpty ? nil : "{" + texts.map(arrayElement).joined(separator: ",") + "}"
        case .idArray:
            let ids = elements(vals).compactMap { valueRef(t, $0) }
            return ids.isEmpty ? nil : "{" + ids.map { String($0) }.joined(separator: ",") + "}"
        case .json:
            guard case .array(let items)? = vals, !items.isEmpty, let vals else { return nil }
            return vals.jsonbText
        }
    }

    /// The type of the staging column that `copyText` fills.
    static func stagingType(_ kind: ColumnPart.Kind) -> String {
        kind == .interval ? "double precision" : kind.sqlType
    }

    /// The column's value from its staging column `staged`.
    static func finalExpression(_ kind: ColumnPart.Kind, staged: String) -> String {
        kind == .interval ? "make_interval(secs => \(staged))" : staged
    }

    // MARK: - The functions of schema.sql

    /// `podio.json_array(vals)` as elements.
    static func elements(_ vals: JSONValue?) -> [JSONValue] {
        guard case .array(let items)? = vals else { return [] }
        return items
    }

    /// `podio.value_text`.
    static func valueText(_ t: String, _ v: JSONValue?) -> String? {
        guard let v else { return nil }
        switch t {
        case "text", "email", "phone", "tel", "state", "tag":
            if case .string(let text)? = v["value"] { return text }
            return nil
        case "category", "question": return v["value"]?["text"]?.text
        case "app": return v["value"]?["title"]?.text
        case "contact": return v["value"]?["name"]?.text
        case "location":
            if let formatted = v["formatted"]?.text { return formatted }
            if case .string(let text)? = v["value"] { return text }
            return nil
        case "embed":
            let embed = v["embed"]
            return embed?["resolved_url"]?.text ?? embed?["url"]?.text ?? embed?["original_url"]?.text
        case "image", "file": return v["value"]?["name"]?.text
        case "calculation":
            if case .string(let text)? = v["value"], NumericText(decimalText: text) == nil { return text }
            return nil
        default: return nil
        }
    }

    static let numberTypes: Set<String> = ["number", "money", "calculation", "progress", "duration"]

    /// `podio.value_number`.
    static func valueNumber(_ t: String, _ v: JSONValue?) -> NumericText? {
        guard numberTypes.contains(t) else { return nil }
        switch v?["value"] {
        case .string(let text)?: return NumericText(decimalText: text)
        case .number(let literal)?:
            guard let number = NumericText(literal: literal), number.fitsToNumeric else { return nil }
            return number
        default: return nil
        }
    }

    /// `podio.value_ref`.
    static func valueRef(_ t: String, _ v: JSONValue?) -> Int64? {
        guard let v else { return nil }
        switch t {
        case "category", "question": return NumericText.bigint(v["value"]?["id"]?.text)
        case "app": return NumericText.bigint(v["value"]?["item_id"]?.text)
        case "contact": return NumericText.bigint(v["value"]?["profile_id"]?.text)
        case "member":
            switch v["value"] {
            case .object?: return NumericText.bigint(v["value"]?["user_id"]?.text)
            case .number?, .string?: return NumericText.bigint(v["value"]?.text)
            default: return nil
            }
        case "image", "file": return NumericText.bigint(v["value"]?["file_id"]?.text)
        case "embed": return NumericText.bigint(v["embed"]?["embed_id"]?.text)
        default: return nil
        }
    }

    /// `podio.date_is_all_day` (true for anything but an object: none of its keys can be read).
    static func isAllDay(_ v: JSONValue?) -> Bool {
        guard let v, case .object = v else { return true }
        if v.has("start_time_utc") { return v["start_time_utc"]?.text == nil }
        if v.has("start_time") { return v["start_time"]?.text == nil }
        let length = (v["start_utc"]?.text ?? v["start"]?.text)?.unicodeScalars.count ?? 10
        return length == 10
    }

    /// `podio.value_start` / `podio.value_end` (`key` `start_utc` or `end_utc`), as `COPY` text.
    static func valueMoment(_ t: String, _ v: JSONValue?, start key: String) -> String? {
        guard t == "date" || t == "calculation", !isAllDay(v) else { return nil }
        return utc(v?[key]?.text).map { $0.date + " " + $0.time + "+00" }
    }

    /// `podio.value_start_date` / `podio.value_end_date` (`side` start or end).
    static func valueDate(_ t: String, _ v: JSONValue?, side: String) -> String? {
        guard t == "date" || t == "calculation" else { return nil }
        if isAllDay(v) {
            let text =
                v?["\(side)_date"]?.text ?? v?["\(side)_date_utc"]?.text
                ?? v?[side]?.text.map { String(String.UnicodeScalarView($0.unicodeScalars.prefix(10))) }
            return date(text)
        }
        return utc(v?["\(side)_utc"]?.text)?.date
    }

    /// `podio.to_date`: `YYYY-MM-DD` of a calendar date that exists (year from 1000), or nil.
    static func date(_ text: String?) -> String? {
        guard let text else { return nil }
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
            b[0] >= UInt8(ascii: "1"), b[0] <= UInt8(ascii: "9"),
            [1, 2, 3, 5, 6, 8, 9].allSatisfy({ NumericText.isDigit(b[$0]) })
        else { return nil }
        let year = Int(b[0] - 48) * 1000 + Int(b[1] - 48) * 100 + Int(b[2] - 48) * 10 + Int(b[3] - 48)
        let month = Int(b[5] - 48) * 10 + Int(b[6] - 48)
        let day = Int(b[8] - 48) * 10 + Int(b[9] - 48)
        guard (1...12).contains(month), (1...31).contains(day) else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days ? text : nil
    }

    /// `podio.to_utc`: `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` (UTC) as its date and time, or nil.
    static func utc(_ text: String?) -> (date: String, time: String)? {
        guard let text else { return nil }
        let b = Array(text.utf8)
        guard b.count == 10 || b.count == 19 else { return nil }
        let datePart = String(decoding: b[0..<10], as: UTF8.self)
        guard [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy({ NumericText.isDigit(b[$0]) }), b[4] == UInt8(ascii: "-"),
            b[7] == UInt8(ascii: "-")
        else { return nil }
        guard b.count == 19 else { return date(datePart).map { ($0, "00:00:00") } }
        guard b[10] == 32, b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            [11, 12, 14, 15, 17, 18].allSatisfy({ NumericText.isDigit(b[$0]) })
        else { return nil }
        let hour = Int(b[11] - 48) * 10 + Int(b[12] - 48)
        guard hour <= 23, b[14] <= UInt8(ascii: "5"), b[17] <= UInt8(ascii: "5") else { return nil }
        return date(datePart).map { ($0, String(decoding: b[11..<19], as: UTF8.self)) }
    }

    /// An element of a `text[]` literal, quoted (`"` and `\` escaped).
    static func arrayElement(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { out += "\\" }
            out.unicodeScalars.append(scalar)
        }
        return out + "\""
    }
}
