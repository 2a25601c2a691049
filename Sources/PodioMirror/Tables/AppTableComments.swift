import LibPQ

/// The catalogue comments of the app tables (`COMMENT ON TABLE`, `COMMENT ON COLUMN`): Podio's
/// names, ids and types, kept in step with the app and its fields. The text podio-mirror wrote
/// is remembered (`podio.apps.table_comment`, `podio.app_columns.comment`), and a comment is
/// rewritten only while it is still that text or empty: a comment a user set stays.
struct AppTableComments: Sendable {
    let db: PGConnection

    /// Start of the comment podio-mirror put on its tables before version 6 (`sync`
    /// replaces it as its own).
    static let marker = "podio-mirror: table of app "

    /// The comment of an app's table: its name, id and link.
    static func tableComment(name: String?, appID: Int, link: String?) -> String {
        let title = (name?.isEmpty == false ? name : nil) ?? "App \(appID)"
        return "\(title) (Podio app \(appID)" + (link.map { ", \($0)" } ?? "") + ")"
    }

    /// The comment of a field's column: the label, the part, the field id and type.
    static func columnComment(label: String?, fieldID: Int, type: String, part: ColumnPart) -> String {
        let title = (label?.isEmpty == false ? label : nil) ?? "Field \(fieldID)"
        let what =
            switch part {
            case .value: ""
            case .currency: ": currency (ISO 4217)"
            case .end: ": end"
            }
        return "\(title)\(what) (Podio field \(fieldID), \(type))"
    }

    /// Brings the comments of the app's table and its columns in step with the stored app and
    /// fields. Writes only what differs, so a sync that changed nothing takes no lock.
    func sync(appID: Int, table name: String) throws {
        let table = TableNaming.qualifiedTable(name)
        var statements: [String] = []
        if let app = try db.query(
            """
            SELECT a.name, a.raw ->> 'link' AS link, a.table_comment,
                   obj_description(to_regclass($2), 'pg_class') AS current
            FROM podio.apps AS a WHERE a.app_id = $1
            """, [appID, table]
        ).first {
            let wanted = Self.tableComment(name: app.string("name"), appID: appID, link: app.string("link"))
            let current = app.string("current")
            let written = app.string("table_comment")
            let ours = current == nil || current == "" || current == written || current?.hasPrefix(Self.marker) == true
            if current != wanted && ours {
                statements.append("COMMENT ON TABLE \(table) IS \(TableNaming.quoteLiteral(wanted))")
            }
            if (current == wanted || ours) && written != wanted {
                try db.query("UPDATE podio.apps SET table_comment = $2 WHERE app_id = $1", [appID, wanted])
            }
        }
        let rows = try db.query(
            """
            SELECT c.field_id, c.part, c.column_name, c.comment AS written, f.label, coalesce(f.type, 'unknown') AS type,
                   col_description(a.attrelid, a.attnum) AS current
            FROM podio.app_columns AS c
            JOIN podio.app_fields AS f ON f.field_id = c.field_id
            JOIN pg_attribute AS a ON a.attrelid = to_regclass($2) AND a.attname = c.column_name AND NOT a.attisdropped
            WHERE c.app_id = $1 AND c.state <> $3
            ORDER BY c.field_id, c.part
            """, [appID, table, ColumnState.kept.rawValue]
        ).rows
        var remembered: [(field: Int, part: String, text: String)] = []
        for row in rows {
            guard let field = row.int("field_id"), let partName = row.string("part"),
                let part = ColumnPart(rawValue: partName), let column = row.string("column_name")
            else { continue }
            let wanted = Self.columnComment(
                label: row.string("label"), fieldID: field, type: row.string("type") ?? "unknown", part: part)
            let current = row.string("current")
            let written = row.string("written")
            let ours = current == nil || current == "" || current == written
            if current != wanted && ours {
                statements.append(
                    "COMMENT ON COLUMN \(table).\(TableNaming.quoteIdentifier(column)) IS \(TableNaming.quoteLiteral(wanted))"
                )
            }
            if (current == wanted || ours) && written != wanted {
                remembered.append((field, partName, wanted))
            }
        }
        if !statements.isEmpty {
            try db.execute(statements.joined(separator: ";\n"))
        }
        if !remembered.isEmpty {
            try db.query(
                """
                UPDATE podio.app_columns AS c SET comment = u.t
                FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u(f, p, t)
                WHERE c.app_id = $1 AND c.field_id = u.f AND c.part = u.p
                """, [appID, remembered.map(\.field), remembered.map(\.part), remembered.map(\.text)])
        }
    }
}
