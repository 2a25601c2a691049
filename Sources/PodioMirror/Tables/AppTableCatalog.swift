import LibPQ

/// What the app tables' reconciliation reads and records in the catalog: the stored apps, fields
/// and columns (`podio.apps`, `podio.app_fields`, `podio.app_columns`), whether a table or index
/// exists, and the user objects that depend on a column. Runs inside the caller's transaction.
struct AppTableCatalog: Sendable {
    let db: PGConnection

    /// An app as its table's name sees it.
    struct StoredApp: Sendable {
        var label: TableNaming.AppLabel
        var tableName: String?
        var appID: Int { label.appID }
    }

    /// A column as recorded in `podio.app_columns`.
    struct StoredColumn: Sendable {
        var column: AppColumn
        var state: ColumnState
    }

    func loadApps() throws -> [StoredApp] {
        try db.query("SELECT app_id, url_label, name, table_name FROM podio.apps ORDER BY app_id").rows.compactMap {
            row in
            guard let id = row.int("app_id") else { return nil }
            return StoredApp(
                label: TableNaming.AppLabel(appID: id, urlLabel: row.string("url_label"), name: row.string("name")),
                tableName: row.string("table_name"))
        }
    }

    /// The active fields of an app, in Podio's order.
    func loadFields(appID: Int) throws -> [AppField] {
        try db.query(
            """
            SELECT field_id, external_id, label, type,
                   coalesce(config -> 'settings' -> 'multiple' = 'true'::jsonb, false) AS multiple,
                   config -> 'settings' ->> 'end' AS end_setting,
                   config -> 'settings' ->> 'time' AS time_setting,
                   config -> 'settings' ->> 'return_type' AS return_type
            FROM podio.app_fields
            WHERE app_id = $1 AND status = 'active'
            ORDER BY position NULLS LAST, field_id
            """, [appID]
        ).rows.compactMap { row in
            guard let id = row.int("field_id") else { return nil }
            return AppField(
                fieldID: id, externalID: row.string("external_id"), label: row.string("label"),
                type: row.string("type") ?? "unknown", multiple: row.bool("multiple") ?? false,
                endSetting: row.string("end_setting"), timeSetting: row.string("time_setting"),
                returnType: row.string("return_type"))
        }
    }

    func loadColumns(appID: Int) throws -> [StoredColumn] {
        try db.query(
            """
            SELECT c.field_id, c.part, c.column_name, c.kind, c.state, coalesce(f.type, 'unknown') AS type
            FROM podio.app_columns AS c LEFT JOIN podio.app_fields AS f ON f.field_id = c.field_id
            WHERE c.app_id = $1 ORDER BY c.field_id, c.part
            """, [appID]
        ).rows.compactMap { row in
            guard let field = row.int("field_id"), let part = row.string("part").flatMap(ColumnPart.init(rawValue:)),
                let name = row.string("column_name"),
                let kind = row.string("kind").flatMap(ColumnPart.Kind.init(rawValue:))
            else { return nil }
            return StoredColumn(
                column: AppColumn(
                    fieldID: field, part: part, name: name, kind: kind, fieldType: row.string("type") ?? "unknown"),
                state: row.string("state").flatMap(ColumnState.init(rawValue:)) ?? .active)
        }
    }

    /// Records the table's columns; a column that stays keeps the comment podio-mirror wrote on it.
    func saveColumns(appID: Int, _ columns: [StoredColumn]) throws {
        try db.query(
            """
            DELETE FROM podio.app_columns AS c WHERE c.app_id = $1
              AND NOT EXISTS (SELECT 1 FROM unnest($2::bigint[], $3::text[]) AS u(f, p) WHERE u.f = c.field_id AND u.p = c.part)
            """, [appID, columns.map(\.column.fieldID), columns.map(\.column.part.rawValue)])
        guard !columns.isEmpty else { return }
        try db.query(
            """
            INSERT INTO podio.app_columns AS c (app_id, field_id, part, column_name, kind, state)
            SELECT $1, f, p, n, k, s FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(f, p, n, k, s)
            ON CONFLICT (app_id, field_id, part) DO UPDATE SET column_name = EXCLUDED.column_name, kind = EXCLUDED.kind,
                state = EXCLUDED.state
            """,
            [
                appID, columns.map(\.column.fieldID), columns.map(\.column.part.rawValue), columns.map(\.column.name),
                columns.map(\.column.kind.rawValue), columns.map(\.state.rawValue),
            ])
    }

    /// Forgets the recorded columns of an app (its table was made anew).
    func forgetColumns(appID: Int) throws {
        try db.query("DELETE FROM podio.app_columns WHERE app_id = $1", [appID])
    }

    func tableName(appID: Int) throws -> String? {
        try db.query("SELECT table_name FROM podio.apps WHERE app_id = $1", [appID]).first?.string("table_name")
    }

    /// Records the name of an app's table.
    func setTableName(appID: Int, _ name: String) throws {
        try db.query("UPDATE podio.apps SET table_name = $2 WHERE app_id = $1", [appID, name])
    }

    /// A table or index of that name in `podio_apps`.
    func relationExists(_ name: String) throws -> Bool {
        try db.query(
            """
            SELECT EXISTS (SELECT 1 FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                           WHERE n.nspname = 'podio_apps' AND c.relname = $1) AS present
            """, [name]
        ).first?.bool("present") ?? false
    }

    func tableExists(_ name: String) throws -> Bool {
        try db.query(
            """
            SELECT EXISTS (SELECT 1 FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                           WHERE n.nspname = 'podio_apps' AND c.relname = $1 AND c.relkind IN ('r', 'p')) AS present
            """, [name]
        ).first?.bool("present") ?? false
    }

    /// The objects that depend on a column (views, mostly), for a warning.
    func dependents(table: String, column: String) throws -> String {
        let names = try db.query(
            """
            SELECT DISTINCT format('%s %I.%I', CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
                                   n.nspname, v.relname) AS what
            FROM pg_depend AS d
            JOIN pg_rewrite AS r ON r.oid = d.objid AND d.classid = 'pg_rewrite'::regclass
            JOIN pg_class AS v ON v.oid = r.ev_class
            JOIN pg_namespace AS n ON n.oid = v.relnamespace
            JOIN pg_class AS c ON c.oid = d.refobjid
            JOIN pg_namespace AS cn ON cn.oid = c.relnamespace AND cn.nspname = 'podio_apps'
            JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
            WHERE c.relname = $1 AND a.attname = $2 AND v.oid <> c.oid
            ORDER BY 1
            """, [table, column]
        ).rows.compactMap { $0.string("what") }
        return names.isEmpty ? "an object of yours" : names.joined(separator: ", ")
    }
}
