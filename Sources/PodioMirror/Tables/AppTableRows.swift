import LibPQ

/// The rows of the app tables: written from a page's staged JSON, touched for activity, deleted,
/// and the statements that fill a table or columns from `podio.items.raw`. Runs inside the
/// caller's transaction.
struct AppTableRows: Sendable {
    let db: PGConnection

    var catalog: AppTableCatalog { AppTableCatalog(db: db) }

    /// What writing a page's rows found.
    struct RowFindings: Sendable {
        /// Values of known types in a shape the columns could not read (the column is NULL). A
        /// field kept as JSON (an unknown or legacy type) is never unreadable.
        var unreadable: [UnreadableValue] = []
        /// Field ids with values that the app's stored definition does not have.
        var unknownFieldIDs: [Int] = []
    }

    /// Writes the rows of the page's changed items (`pm_page` joined with `pm_changed`, see
    /// `PageSQL`) into the app's table (`table`, qualified, with the columns the writers fill),
    /// inserted or replaced whole, and reports in the same statement what it could not type:
    /// each item's fields are unpacked once.
    func writeChanged(appID: Int, table: String, columns: [AppColumn]) throws -> RowFindings {
        let aliases = columns.indices.map { "c\($0)" }
        let computed = zip(columns, aliases).map { column, alias in "\(column.expression(map: "fv.m")) AS \(alias)" }
        let checks = zip(columns, aliases).filter { $0.0.part == .value && $0.0.kind != .json }.map { column, alias in
            "(\(column.fieldID), \(TableNaming.quoteLiteral(column.fieldType)), '\(column.fieldID)' = ANY (s.present) AND s.\(alias) IS NULL)"
        }
        let names = Self.fixedColumns + columns.map(\.name)
        let updates = names.dropFirst().map(quote)
        let unreadable =
            checks.isEmpty
            ? "SELECT 'unreadable', NULL::bigint, NULL::bigint, NULL::text WHERE false"
            : """
            SELECT 'unreadable', s.item_id, chk.field_id::bigint, chk.type FROM src AS s
            CROSS JOIN LATERAL (VALUES \(checks.joined(separator: ", "))) AS chk(field_id, type, bad) WHERE chk.bad
            """
        let sql = """
            WITH src AS MATERIALIZED (
                SELECT \((Self.fixedColumns.map { "p.\($0)" } + computed).joined(separator: ",\n       ")),
                       ARRAY(SELECT e.key FROM jsonb_each(fv.m) AS e(key, value)
                             WHERE jsonb_typeof(e.value) = 'array' AND jsonb_array_length(e.value) > 0) AS present
                FROM (SELECT DISTINCT ON (item_id) * FROM pm_page ORDER BY item_id, ord DESC) AS p
                JOIN pm_changed AS c ON c.item_id = p.item_id
                CROSS JOIN LATERAL (SELECT podio.field_values(p.raw) AS m OFFSET 0) AS fv
            ), written AS (
                INSERT INTO \(table) AS t (\(names.map(quote).joined(separator: ", ")))
                SELECT \((Self.fixedColumns + aliases).joined(separator: ", ")) FROM src
                ON CONFLICT (item_id) DO UPDATE SET (\(updates.joined(separator: ", "))) =
                    ROW(\(updates.map { "EXCLUDED.\($0)" }.joined(separator: ", ")))
                RETURNING 1
            )
            \(unreadable)
            UNION ALL
            SELECT DISTINCT 'unknown', NULL::bigint, podio.to_bigint(k), NULL::text FROM src AS s, unnest(s.present) AS k
            WHERE NOT EXISTS (SELECT 1 FROM podio.app_fields AS a WHERE a.app_id = $1 AND a.field_id = podio.to_bigint(k))
            ORDER BY 1, 2, 3
            """
        var findings = RowFindings()
        for row in try db.query(sql, [appID]).rows {
            guard let field = row[2].flatMap({ Int($0) }) else { continue }
            if row[0] == "unknown" {
                findings.unknownFieldIDs.append(field)
            } else if let item = row[1].flatMap({ Int($0) }) {
                findings.unreadable.append(UnreadableValue(itemID: item, fieldID: field, type: row[3] ?? "?"))
            }
        }
        return findings
    }

    /// Items whose revision did not move but whose activity did: `last_event_on` follows.
    func refreshActivity(appID: Int, items: [Int]) throws {
        guard !items.isEmpty, let name = try catalog.tableName(appID: appID) else { return }
        try db.query(
            """
            UPDATE \(TableNaming.qualifiedTable(name)) AS t SET last_event_on = i.last_event_on
            FROM podio.items AS i WHERE i.item_id = t.item_id AND i.item_id = ANY ($1::bigint[])
            """, [items])
    }

    /// Removes deleted items from the app's table (their tombstones stay in `podio.items`).
    func deleteRows(appID: Int, items: [Int]) throws {
        guard !items.isEmpty, let name = try catalog.tableName(appID: appID) else { return }
        try db.query("DELETE FROM \(TableNaming.qualifiedTable(name)) WHERE item_id = ANY ($1::bigint[])", [items])
    }

    // MARK: - Statements

    /// The columns every app table starts with, in order.
    static let fixedColumns = TableNaming.fixedColumns

    /// `INSERT … SELECT` of the whole rows of every live item of the app (`$1`) from
    /// `podio.items`: a table made anew is filled from the raw JSON.
    func insertStatement(table: String, columns: [AppColumn]) -> String {
        let names = Self.fixedColumns + columns.map(\.name)
        let values = Self.fixedColumns.map { "p.\($0)" } + columns.map { $0.expression(map: "fv.m") }
        return """
            INSERT INTO \(table) AS t (\(names.map(quote).joined(separator: ", ")))
            SELECT \(values.joined(separator: ",\n       "))
            FROM podio.items AS p
            CROSS JOIN LATERAL (SELECT podio.field_values(p.raw) AS m OFFSET 0) AS fv
            WHERE p.app_id = $1 AND p.deleted_at IS NULL
            """
    }

    /// Computes `columns` again for every row of the table from the items' raw JSON.
    func fill(table: String, appID: Int, columns: [AppColumn]) throws -> Int {
        guard !columns.isEmpty else { return 0 }
        return try db.query(
            """
            UPDATE \(table) AS t SET (\(columns.map { quote($0.name) }.joined(separator: ", "))) =
                ROW(\(columns.map { $0.expression(map: "fv.m") }.joined(separator: ", ")))
            FROM podio.items AS i CROSS JOIN LATERAL (SELECT podio.field_values(i.raw) AS m OFFSET 0) AS fv
            WHERE i.item_id = t.item_id AND i.app_id = $1
            """, [appID]
        ).affectedRows
    }

    func quote(_ name: String) -> String {
        TableNaming.quoteIdentifier(name)
    }
}
