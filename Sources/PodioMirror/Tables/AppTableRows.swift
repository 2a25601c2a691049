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
    /// inserted or replaced whole, and reports what it could not type.
    ///
    /// The values are typed in Swift (`ValueTyper`, the rules of the `podio.col_*` functions)
    /// from each changed item read once (`page`), sent with `COPY` into a staging table of the
    /// transaction (`pm_rows`), then written by one set-based upsert.
    func writeChanged(appID: Int, table: String, columns: [AppColumn], page items: PageItems) throws
        -> RowFindings
    {
        let changed = try db.query(Self.changedRows).rows.compactMap { row in
            row.int("ord").flatMap { ord in row.int("item_id").map { (ord: ord, itemID: $0) } }
        }
        guard !changed.isEmpty else { return RowFindings() }
        // Field ids of the app's stored definition (deleted fields too): others are unknown.
        let known = Set(
            try db.query("SELECT field_id FROM podio.app_fields WHERE app_id = $1", [appID]).rows.compactMap {
                $0.int64("field_id")
            })
        let staged = columns.indices.map { "c\($0)" }
        let definitions = zip(staged, columns).map { "\($0) \(ValueTyper.stagingType($1.kind))" }
        try db.execute(
            "CREATE TEMP TABLE pm_rows (\((["ord integer"] + definitions).joined(separator: ", "))) ON COMMIT DROP")
        // The field ids as `podio.field_values` keys them, and the columns whose NULL for a field
        // with values means an unreadable value (kept as JSON: never).
        let keys = columns.map { String($0.fieldID) }
        let checked = columns.map { $0.part == .value && $0.kind != .json }
        var findings = RowFindings()
        var unknown = Set<Int>()
        try db.copyIn("COPY pm_rows FROM STDIN") { writer in
            var row: [String?] = []
            row.reserveCapacity(columns.count + 1)
            for item in changed {
                let values = try items.fieldValues(ord: item.ord)
                row.removeAll(keepingCapacity: true)
                row.append(String(item.ord))
                for (index, column) in columns.enumerated() {
                    let vals = values[keys[index]]
                    let text = ValueTyper.copyText(
                        kind: column.kind, part: column.part, fieldType: column.fieldType, values: vals)
                    row.append(text)
                    if text == nil, checked[index], case .array(let elements)? = vals, !elements.isEmpty {
                        findings.unreadable.append(
                            UnreadableValue(itemID: item.itemID, fieldID: column.fieldID, type: column.fieldType))
                    }
                }
                for (key, value) in values {
                    guard case .array(let elements) = value, !elements.isEmpty, let id = NumericText.bigint(key),
                        !known.contains(id)
                    else { continue }
                    unknown.insert(Int(id))
                }
                try writer.writeRow(row)
            }
        }
        let names = Self.fixedColumns + columns.map(\.name)
        let updates = names.dropFirst().map(quote)
        let values =
            Self.fixedColumns.map { "p.\($0)" }
            + zip(staged, columns).map { ValueTyper.finalExpression($1.kind, staged: "r.\($0)") }
        try db.query(
            """
            INSERT INTO \(table) AS t (\(names.map(quote).joined(separator: ", ")))
            SELECT \(values.joined(separator: ", ")) FROM pm_rows AS r JOIN pm_page AS p ON p.ord = r.ord
            ON CONFLICT (item_id) DO UPDATE SET (\(updates.joined(separator: ", "))) =
                ROW(\(updates.map { "EXCLUDED.\($0)" }.joined(separator: ", ")))
            """)
        findings.unreadable.sort { ($0.itemID, $0.fieldID) < ($1.itemID, $1.fieldID) }
        findings.unknownFieldIDs = unknown.sorted()
        return findings
    }

    /// The page's changed items: the position in the page of each one's last occurrence.
    static let changedRows = """
        SELECT p.ord, p.item_id FROM (SELECT DISTINCT ON (item_id) item_id, ord FROM pm_page ORDER BY item_id, ord DESC) AS p
        JOIN pm_changed AS c ON c.item_id = p.item_id ORDER BY p.ord
        """

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
