import Foundation

/// How the app tables and their columns are named (docs/tables.md, "Naming").
///
/// Names come from Podio (URL labels, external ids, labels) and may hold anything: quotes,
/// backslashes, spaces, SQL keywords, control characters, any script, a thousand characters.
/// They are turned into snake_case, cut to PostgreSQL's identifier limit on a character
/// boundary, made unique, and always written double-quoted in SQL.
public enum TableNaming {
    /// PostgreSQL keeps the first 63 bytes of an identifier (NAMEDATALEN - 1) and silently drops
    /// the rest; names are cut here instead, so that two long names never end up equal.
    public static let maxIdentifierBytes = 63

    /// The fixed columns every app table starts with; field columns never take these names.
    public static let fixedColumns = [
        "item_id", "app_item_id", "title", "revision", "created_on", "last_edit_on", "last_event_on",
    ]

    /// `"name"` with every `"` doubled: a quoted identifier PostgreSQL reads back exactly.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `podio_apps."name"`: an app table's qualified, quoted name.
    static func qualifiedTable(_ name: String) -> String {
        "podio_apps." + quoteIdentifier(name)
    }

    /// `E'text'` with every `\\` and `'` doubled: a string literal PostgreSQL reads back exactly,
    /// whatever `standard_conforming_strings` says.
    public static func quoteLiteral(_ text: String) -> String {
        "E'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// Lowercase; every run of characters that are neither letters nor digits becomes one `_`,
    /// none at either end. Letters and digits of any script are kept (NFC-normalized), so
    /// `Café Clients` becomes `café_clients` and `顧客` stays `顧客`.
    public static func snakeCase(_ text: String) -> String {
        let lowered = text.lowercased().precomposedStringWithCanonicalMapping
        var result = ""
        var separatorPending = false
        for character in lowered {
            if character.isLetter || character.isNumber {
                if separatorPending && !result.isEmpty { result.append("_") }
                separatorPending = false
                result.append(character)
            } else {
                separatorPending = true
            }
        }
        return result
    }

    /// The longest prefix of `text` of at most `maxBytes` UTF-8 bytes that ends on a character
    /// boundary (whole grapheme clusters; whole scalars when even the first cluster is too long),
    /// without trailing `_`.
    public static func truncateUTF8(_ text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var result = ""
        var bytes = 0
        for character in text {
            let size = character.utf8.count
            if bytes + size > maxBytes { break }
            result.append(character)
            bytes += size
        }
        if result.isEmpty {
            var scalars = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                let size = String(scalar).utf8.count
                if bytes + size > maxBytes { break }
                scalars.append(scalar)
                bytes += size
            }
            result = String(scalars)
        }
        while result.hasSuffix("_") { result.removeLast() }
        return result
    }

    /// True when the name starts with a digit (an unquoted identifier cannot).
    static func startsWithDigit(_ name: String) -> Bool {
        name.first?.isNumber ?? false
    }

    // MARK: - Table names

    /// What names a table: the app's id, URL label and name.
    public struct AppLabel: Sendable, Equatable {
        public var appID: Int
        public var urlLabel: String?
        public var name: String?

        public init(appID: Int, urlLabel: String?, name: String?) {
            self.appID = appID
            self.urlLabel = urlLabel
            self.name = name
        }
    }

    /// The plain (unsuffixed, untruncated) table name of an app: its URL label in snake_case, or
    /// its name when the label is missing or has no letters or digits; `app_` in front of a
    /// leading digit; `app_<app_id>` when nothing is left.
    static func baseTableName(_ app: AppLabel) -> String {
        var base = snakeCase(app.urlLabel ?? "")
        if base.isEmpty { base = snakeCase(app.name ?? "") }
        if base.isEmpty { return "app_\(app.appID)" }
        return startsWithDigit(base) ? "app_" + base : base
    }

    /// The table name of every app, unique among them and at most 63 bytes, decided from the
    /// whole set of apps alone (not from history): among apps whose names would collide, the
    /// lowest app id keeps the plain name and the others get `_<app_id>` appended.
    public static func tableNames(_ apps: [AppLabel]) -> [Int: String] {
        let sorted = apps.sorted { $0.appID < $1.appID }
        var names: [Int: String] = [:]
        var taken = Set<String>()
        var suffixed: [(app: AppLabel, base: String)] = []
        // Plain names first, so that a suffixed name can never take another app's plain name.
        for app in sorted where names[app.appID] == nil {
            let base = baseTableName(app)
            let plain = truncateUTF8(base, maxBytes: maxIdentifierBytes)
            if taken.insert(plain).inserted {
                names[app.appID] = plain
            } else {
                suffixed.append((app, base))
            }
        }
        for (app, base) in suffixed {
            var attempt = 1
            while true {
                let suffix = attempt == 1 ? "_\(app.appID)" : "_\(app.appID)_\(attempt)"
                let candidate = truncateUTF8(base, maxBytes: maxIdentifierBytes - suffix.utf8.count) + suffix
                if taken.insert(candidate).inserted {
                    names[app.appID] = candidate
                    break
                }
                attempt += 1
            }
        }
        return names
    }

    // MARK: - Column names

    /// Hands out column names, each unique in the table and at most 63 bytes.
    struct ColumnNamer {
        private(set) var taken = Set(TableNaming.fixedColumns)

        /// A namer that also treats `reserved` as taken (the columns of deleted fields that are kept).
        init(reserved: some Sequence<String> = []) {
            taken.formUnion(reserved)
        }

        /// The base name of a field's column: its external id in snake_case, else its label,
        /// else `field_<field_id>`; `field_` in front of a leading digit.
        static func baseName(fieldID: Int, externalID: String?, label: String?) -> String {
            var base = snakeCase(externalID ?? "")
            if base.isEmpty { base = snakeCase(label ?? "") }
            if base.isEmpty { return "field_\(fieldID)" }
            return startsWithDigit(base) ? "field_" + base : base
        }

        /// Claims a stem for a field and the companion names `stem + suffix` for each of
        /// `companions` (e.g. `_currency`, `_end`): the first of `base`, `base_2`, `base_3`, …
        /// for which all of them are free. The stem is cut so that the longest companion fits.
        mutating func claim(base: String, companions: [String] = []) -> String {
            let longestCompanion = companions.map(\.utf8.count).max() ?? 0
            var attempt = 1
            while true {
                let suffix = attempt == 1 ? "" : "_\(attempt)"
                let stem = Self.stem(base, suffix: suffix, room: maxIdentifierBytes - longestCompanion)
                let all = [stem] + companions.map { stem + $0 }
                if !stem.isEmpty, all.allSatisfy({ !taken.contains($0) }) {
                    taken.formUnion(all)
                    return stem
                }
                attempt += 1
            }
        }

        private static func stem(_ base: String, suffix: String, room: Int) -> String {
            truncateUTF8(base, maxBytes: room - suffix.utf8.count) + suffix
        }
    }
}
