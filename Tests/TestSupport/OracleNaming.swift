import Foundation

/// The column names of an app table by the rules of docs/tables.md ("Naming"), written from that
/// text for `AppTableOracle`, apart from the engine's `TableNaming`, `ColumnKind` and
/// `AppTableLayout` (a mistake there then shows as a difference):
///
/// - the seven fixed columns first, then one column per active field in Podio's order (position,
///   then field id), with a field's extra columns (`<name>_currency`, `<name>_end`) after it;
/// - a field's name: its external id in snake_case (lowercased; each run of characters that are
///   neither letters nor digits is one `_`, none at either end), else its label, else
///   `field_<field_id>`; `field_` in front of a leading digit;
/// - a name already taken (the fixed columns and the names of kept columns included) gets `_2`,
///   `_3`, …, and the extra columns of a field are kept free the same way;
/// - at most 63 bytes: the name is cut at a character boundary before a suffix is added, leaving
///   room for the longest extra column.
enum OracleNaming {
    /// PostgreSQL's identifier limit in bytes.
    static let maxBytes = 63

    static let fixedColumns = [
        "item_id", "app_item_id", "title", "revision", "created_on", "last_edit_on", "last_event_on",
    ]

    /// A field as the naming sees it.
    struct Field {
        var id: Int
        var externalID: String?
        var label: String?
        /// `config.delta`; nil sorts last.
        var position: Int?
        /// The field's parts (`value` first, then `currency` or `end`); none for a separator.
        var parts: [String]
    }

    /// The column name of each part of each field, keyed by field id and part; `reserved` names
    /// (kept columns) are never handed out.
    static func columnNames(_ fields: [Field], reserved: Set<String> = []) -> [Int: [String: String]] {
        let ordered = fields.sorted { ($0.position ?? Int.max, $0.id) < ($1.position ?? Int.max, $1.id) }
        var taken = Set(fixedColumns).union(reserved)
        var names: [Int: [String: String]] = [:]
        for field in ordered where !field.parts.isEmpty {
            let base = baseName(field)
            let extras = field.parts.dropFirst().map { "_" + $0 }
            let room = maxBytes - (extras.map(\.utf8.count).max() ?? 0)
            var n = 1
            while true {
                let suffix = n == 1 ? "" : "_\(n)"
                let stem = cut(base, toBytes: room - suffix.utf8.count) + suffix
                let all = [stem] + extras.map { stem + $0 }
                if !stem.isEmpty && taken.isDisjoint(with: all) {
                    taken.formUnion(all)
                    var byPart: [String: String] = [:]
                    for (part, name) in zip(field.parts, all) { byPart[part] = name }
                    names[field.id] = byPart
                    break
                }
                n += 1
            }
        }
        return names
    }

    /// The external id in snake_case, else the label, else `field_<id>`; `field_` before a digit.
    static func baseName(_ field: Field) -> String {
        for source in [field.externalID, field.label] {
            let name = snakeCase(source ?? "")
            if let first = name.first {
                return first.isNumber ? "field_" + name : name
            }
        }
        return "field_\(field.id)"
    }

    /// Lowercased (in NFC), the words of letters and digits joined by one `_`.
    static func snakeCase(_ text: String) -> String {
        text.lowercased().precomposedStringWithCanonicalMapping
            .split(whereSeparator: { !($0.isLetter || $0.isNumber) })
            .joined(separator: "_")
    }

    /// The longest head of `text` of at most `limit` UTF-8 bytes that ends between two
    /// characters (between two scalars when not even the first character fits), without a
    /// trailing `_` (snake_case has none at its ends).
    static func cut(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var head = ""
        for character in text {
            guard head.utf8.count + character.utf8.count <= limit else { break }
            head.append(character)
        }
        if head.isEmpty {
            var scalars = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                guard String(scalars).utf8.count + String(scalar).utf8.count <= limit else { break }
                scalars.append(scalar)
            }
            head = String(scalars)
        }
        while head.last == "_" { head.removeLast() }
        return head
    }
}
