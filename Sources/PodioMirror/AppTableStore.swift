import LibPQ
import Logging

/// The app tables: one real table per mirrored app in schema `podio_apps` (docs/tables.md).
///
/// A table holds the app's live items, one typed column per field (`AppTableLayout`), and is
/// written in the page's transaction (`writeChanged`). `reconcile` keeps its shape in step with
/// the app's stored field definitions without any call to Podio: values of new or reshaped
/// columns come from `podio.items.raw`. Its columns are recorded in `podio.app_columns`, so the
/// writers follow the table as it is. Every method runs inside a transaction the caller opened.
public struct AppTableStore: Sendable {
    let db: PGConnection
    let logger: Logger

    /// How long a change of shape waits for a lock: a long query of a user's holds one, and the
    /// sync must fail (and retry next run) rather than hang behind it.
    static let lockTimeout = "30s"
    /// Start of the comment of every table podio-mirror made.
    static let marker = "podio-mirror: table of app "

    public init(db: PGConnection, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// What reconciling one app's table did.
    public struct Report: Sendable {
        public var table: String?
        public var created = false
        public var renamedTables: [String] = []
        public var added: [String] = []
        public var dropped: [String] = []
        public var renamed: [String] = []
        public var retyped: [String] = []
        /// Rows written from the raw JSON (a new table, or new and reshaped columns).
        public var filledRows = 0
        /// Lines for people: columns kept for a user's object, type changes it blocked, fields
        /// left out. Each is said once, when it first happens.
        public var warnings: [String] = []

        public var changed: Bool {
            created || !renamedTables.isEmpty || !added.isEmpty || !dropped.isEmpty || !renamed.isEmpty || !retyped.isEmpty
        }
    }

    /// A column as recorded in `podio.app_columns`.
    struct StoredColumn: Sendable {
        var column: AppColumn
        /// `active`; `kept`: its field is gone but a user's object depends on it (not written);
        /// `stale`: a user's object blocked a change of its type (written with its old kind).
        var state: String
    }

    // MARK: - Shape

    /// Brings the app's table in step with its stored fields: creates it (filled from the raw
    /// JSON) when missing, renames tables whose names changed, adds, drops, renames and retypes
    /// columns, and records the result. Serialized across processes by an advisory lock.
    @discardableResult
    public func reconcile(appID: Int) throws -> Report {
        var report = Report()
        try db.execute("SET LOCAL lock_timeout = '\(Self.lockTimeout)'")
        try db.advisoryTransactionLock(LockKeys.tables)
        let apps = try loadApps()
        let names = TableNaming.tableNames(apps.map(\.label))
        guard let name = names[appID], let app = apps.first(where: { $0.appID == appID }) else { return report }
        report.table = name
        try moveTables(apps, names: names, report: &report)

        var created = false
        if try !tableExists(name) {
            try create(app, name: name)
            try db.query("DELETE FROM podio.app_columns WHERE app_id = $1", [appID])
            created = true
            report.created = true
        }
        let table = Self.qualified(name)
        let fields = try loadFields(appID: appID)
        var stored = try loadColumns(appID: appID)
        // A kept column whose field came back is the field's column again.
        let active = Set(fields.map(\.fieldID))
        for index in stored.indices where stored[index].state == "kept" && active.contains(stored[index].column.fieldID) {
            stored[index].state = "active"
        }

        // Columns of fields that are gone (or left out): dropped, or kept while a user's object
        // needs them. The names of kept columns are never handed out, so the layout is decided
        // again until no column changes state.
        var layout: AppTableLayout
        while true {
            let reserved = Set(stored.filter { $0.state == "kept" }.map(\.column.name))
            layout = AppTableLayout(fields: fields, reserved: reserved)
            let wanted = Set(layout.columns.map(\.key))
            var newlyKept = false
            for index in stored.indices where !wanted.contains(stored[index].column.key) && stored[index].state != "dropped" {
                let column = stored[index].column
                if try dropColumn(table, column.name) {
                    stored[index].state = "dropped"
                    report.dropped.append(column.name)
                } else if stored[index].state != "kept" {
                    stored[index].state = "kept"
                    newlyKept = true
                    let users = try dependents(table: name, column: column.name)
                    report.warnings.append(
                        "field \(column.fieldID) of app \(appID) is gone, but \(users) depends on its column "
                            + "podio_apps.\(name).\(column.name): the column is kept and no longer written; "
                            + "drop that object and the next sync drops the column")
                }
            }
            stored.removeAll { $0.state == "dropped" }
            if !newlyKept { break }
        }
        if !layout.omittedFieldIDs.isEmpty {
            logger.warning(
                "app has more fields than a table can hold; some are left out of its table",
                metadata: ["app_id": "\(appID)", "fields": "\(layout.omittedFieldIDs)"])
        }

        // Reshaped fields: the column's type changes and its values are computed again.
        var refill: [AppColumn] = []
        let storedByKey = Dictionary(stored.map { ($0.column.key, $0) }, uniquingKeysWith: { a, _ in a })
        var kinds: [AppColumn.Key: ColumnPart.Kind] = [:]
        for wantedColumn in layout.columns {
            guard let old = storedByKey[wantedColumn.key], old.state != "kept" else { continue }
            kinds[wantedColumn.key] = old.column.kind
            guard old.column.kind != wantedColumn.kind else { continue }
            if try retype(table, old.column.name, to: wantedColumn.kind) {
                kinds[wantedColumn.key] = wantedColumn.kind
                report.retyped.append(wantedColumn.name)
                refill.append(wantedColumn)
            } else if old.state != "stale" {
                let users = try dependents(table: name, column: old.column.name)
                report.warnings.append(
                    "field \(wantedColumn.fieldID) of app \(appID) changed shape, but \(users) depends on its column "
                        + "podio_apps.\(name).\(old.column.name): the column keeps its type \(old.column.kind.sqlType); "
                        + "drop that object and the next sync changes it to \(wantedColumn.kind.sqlType)")
            }
        }

        // Renames, in two steps so that two columns can swap names.
        let moving = layout.columns.compactMap { column -> (from: String, to: String)? in
            guard let old = storedByKey[column.key], old.state != "kept", old.column.name != column.name else { return nil }
            return (old.column.name, column.name)
        }
        for (index, move) in moving.enumerated() {
            try db.execute("ALTER TABLE \(table) RENAME COLUMN \(quote(move.from)) TO \(quote("~pm \(index)"))")
        }
        for (index, move) in moving.enumerated() {
            try db.execute("ALTER TABLE \(table) RENAME COLUMN \(quote("~pm \(index)")) TO \(quote(move.to))")
            report.renamed.append("\(move.from) → \(move.to)")
        }

        // New fields.
        for column in layout.columns where storedByKey[column.key] == nil {
            try db.execute("ALTER TABLE \(table) ADD COLUMN \(quote(column.name)) \(column.kind.sqlType)")
            kinds[column.key] = column.kind
            report.added.append(column.name)
            refill.append(column)
        }
        for column in layout.columns where column.kind == .idArray && ["app", "contact", "member"].contains(column.fieldType) {
            // References are joinable from both ends: `WHERE client @> ARRAY[123::bigint]`. The
            // index is looked for first: CREATE INDEX IF NOT EXISTS would lock the table on
            // every sync only to find it.
            let index = "refs \(column.fieldID) \(column.part.rawValue)"
            if try !relationExists(index) {
                try db.execute("CREATE INDEX \(quote(index)) ON \(table) USING gin (\(quote(column.name)))")
            }
        }

        // What the table has now: the layout with the kinds the columns really have, plus kept ones.
        var final = layout.columns.map { column -> StoredColumn in
            var actual = column
            actual.kind = kinds[column.key] ?? column.kind
            let stale = actual.kind != column.kind
            return StoredColumn(column: actual, state: stale ? "stale" : "active")
        }
        final += stored.filter { $0.state == "kept" }
        try saveColumns(appID: appID, final)

        if created {
            report.filledRows = try db.query(insertStatement(table: table, columns: final.filter { $0.state != "kept" }.map(\.column)), [appID]).affectedRows
        } else if !refill.isEmpty {
            report.filledRows = try fill(table: table, appID: appID, columns: refill.map { column in
                var actual = column
                actual.kind = kinds[column.key] ?? column.kind
                return actual
            })
        }
        if report.changed {
            logger.debug(
                "app table in step with its fields",
                metadata: [
                    "table": "podio_apps.\(name)", "created": "\(report.created)", "added": "\(report.added)",
                    "dropped": "\(report.dropped)", "renamed": "\(report.renamed)", "retyped": "\(report.retyped)",
                ])
        }
        return report
    }

    /// Reconciles the table of every app in `podio.apps` (the `tables` command, and `migrate`
    /// from the first version); returns the tables' names, ordered by app id.
    @discardableResult
    public func reconcileAll() throws -> [(appID: Int, table: String, report: Report)] {
        var done: [(appID: Int, table: String, report: Report)] = []
        for app in try loadApps() {
            let report = try reconcile(appID: app.appID)
            if let table = report.table { done.append((app.appID, table, report)) }
        }
        return done
    }

    // MARK: - Rows

    /// What writing a page's rows found.
    struct RowFindings: Sendable {
        /// Values of known types in a shape the columns could not read (the column is NULL). A
        /// field kept as JSON (an unknown or legacy type) is never unreadable.
        var unreadable: [UnreadableValue] = []
        /// Field ids with values that the app's stored definition does not have.
        var unknownFieldIDs: [Int] = []
    }

    /// Writes the rows of the page's changed items (`pm_page` joined with `pm_changed`, see
    /// `PageSQL`) into the app's table, inserted or replaced whole, and reports in the same
    /// statement what it could not type: each item's fields are unpacked once.
    func writeChanged(appID: Int) throws -> RowFindings {
        let (table, columns) = try writable(appID: appID)
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
        guard !items.isEmpty, let name = try tableName(appID: appID) else { return }
        try db.query(
            """
            UPDATE \(Self.qualified(name)) AS t SET last_event_on = i.last_event_on
            FROM podio.items AS i WHERE i.item_id = t.item_id AND i.item_id = ANY ($1::bigint[])
            """, [items])
    }

    /// Removes deleted items from the app's table (their tombstones stay in `podio.items`).
    func deleteRows(appID: Int, items: [Int]) throws {
        guard !items.isEmpty, let name = try tableName(appID: appID) else { return }
        try db.query("DELETE FROM \(Self.qualified(name)) WHERE item_id = ANY ($1::bigint[])", [items])
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
    private func fill(table: String, appID: Int, columns: [AppColumn]) throws -> Int {
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

    // MARK: - Catalog

    struct StoredApp: Sendable {
        var label: TableNaming.AppLabel
        var tableName: String?
        var appID: Int { label.appID }
    }

    func loadApps() throws -> [StoredApp] {
        try db.query("SELECT app_id, url_label, name, table_name FROM podio.apps ORDER BY app_id").rows.compactMap { row in
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
                let name = row.string("column_name"), let kind = row.string("kind").flatMap(ColumnPart.Kind.init(rawValue:))
            else { return nil }
            return StoredColumn(
                column: AppColumn(fieldID: field, part: part, name: name, kind: kind, fieldType: row.string("type") ?? "unknown"),
                state: row.string("state") ?? "active")
        }
    }

    private func saveColumns(appID: Int, _ columns: [StoredColumn]) throws {
        try db.query("DELETE FROM podio.app_columns WHERE app_id = $1", [appID])
        guard !columns.isEmpty else { return }
        try db.query(
            """
            INSERT INTO podio.app_columns (app_id, field_id, part, column_name, kind, state)
            SELECT $1, f, p, n, k, s FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(f, p, n, k, s)
            """,
            [
                appID, columns.map(\.column.fieldID), columns.map(\.column.part.rawValue), columns.map(\.column.name),
                columns.map(\.column.kind.rawValue), columns.map(\.state),
            ])
    }

    /// The table and the columns the writers fill (kept columns are left alone). Reconciles
    /// first when the app has no table yet (a dry run, or an app stored before its table).
    private func writable(appID: Int) throws -> (table: String, columns: [AppColumn]) {
        var name = try tableName(appID: appID)
        let present = try name.map(tableExists) ?? false
        if !present {
            name = try reconcile(appID: appID).table
        }
        guard let name else {
            throw MirrorError(.database, "app \(appID) has no table in podio_apps", fix: "run `podio-mirror tables`")
        }
        return (Self.qualified(name), try loadColumns(appID: appID).filter { $0.state != "kept" }.map(\.column))
    }

    func tableName(appID: Int) throws -> String? {
        try db.query("SELECT table_name FROM podio.apps WHERE app_id = $1", [appID]).first?.string("table_name")
    }

    /// A table or index of that name in `podio_apps`.
    private func relationExists(_ name: String) throws -> Bool {
        try db.query(
            """
            SELECT EXISTS (SELECT 1 FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                           WHERE n.nspname = 'podio_apps' AND c.relname = $1) AS present
            """, [name]
        ).first?.bool("present") ?? false
    }

    private func tableExists(_ name: String) throws -> Bool {
        try db.query(
            """
            SELECT EXISTS (SELECT 1 FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
                           WHERE n.nspname = 'podio_apps' AND c.relname = $1 AND c.relkind IN ('r', 'p')) AS present
            """, [name]
        ).first?.bool("present") ?? false
    }

    private func create(_ app: StoredApp, name: String) throws {
        let table = Self.qualified(name)
        try db.execute(
            """
            CREATE TABLE \(table) (
                item_id        bigint CONSTRAINT \(quote("app \(app.appID) pkey")) PRIMARY KEY,
                app_item_id    bigint,
                title          text,
                revision       integer NOT NULL,
                created_on     timestamptz,
                last_edit_on   timestamptz,
                last_event_on  timestamptz
            )
            """)
        let comment = try db.query(
            "SELECT format('COMMENT ON TABLE %s IS %L', $1::text, $2::text) AS sql", [table, "\(Self.marker)\(app.appID) (\(app.label.name ?? ""))"]
        ).first?.string("sql")
        if let comment { try db.execute(comment) }
        try db.query("UPDATE podio.apps SET table_name = $2 WHERE app_id = $1", [app.appID, name])
        logger.debug("created app table", metadata: ["table": "podio_apps.\(name)", "app_id": "\(app.appID)"])
    }

    /// Renames the tables of apps whose name changed (a URL label changed, or a collision was
    /// decided anew), through temporary names so that two tables can swap.
    private func moveTables(_ apps: [StoredApp], names: [Int: String], report: inout Report) throws {
        var moving: [(app: StoredApp, from: String, to: String)] = []
        for app in apps {
            guard let from = app.tableName, let to = names[app.appID], from != to, try tableExists(from) else { continue }
            moving.append((app, from, to))
        }
        for move in moving {
            try db.execute("ALTER TABLE \(Self.qualified(move.from)) RENAME TO \(quote("~pm \(move.app.appID)"))")
        }
        for move in moving {
            if try tableExists(move.to) {
                throw MirrorError(
                    .database,
                    "the table podio_apps.\(move.to) is in the way of app \(move.app.appID)'s table",
                    fix: "podio_apps holds podio-mirror's tables only: move or drop podio_apps.\(move.to), then sync again")
            }
            try db.execute("ALTER TABLE \(Self.qualified("~pm \(move.app.appID)")) RENAME TO \(quote(move.to))")
            try db.query("UPDATE podio.apps SET table_name = $2 WHERE app_id = $1", [move.app.appID, move.to])
            report.renamedTables.append("\(move.from) → \(move.to)")
        }
    }

    /// Drops a column; false when an object of the user's depends on it (nothing changed then).
    private func dropColumn(_ table: String, _ column: String) throws -> Bool {
        try inSavepoint("ALTER TABLE \(table) DROP COLUMN IF EXISTS \(quote(column))")
    }

    /// Changes a column's type (its values are computed again after); false when an object of
    /// the user's depends on it.
    private func retype(_ table: String, _ column: String, to kind: ColumnPart.Kind) throws -> Bool {
        try inSavepoint("ALTER TABLE \(table) ALTER COLUMN \(quote(column)) TYPE \(kind.sqlType) USING NULL")
    }

    /// Runs one statement in a savepoint; false when PostgreSQL refused it because other objects
    /// depend on what it changes (2BP01, or 0A000 for a type change under a view).
    private func inSavepoint(_ sql: String) throws -> Bool {
        try db.execute("SAVEPOINT pm_shape")
        do {
            try db.execute(sql)
            try db.execute("RELEASE SAVEPOINT pm_shape")
            return true
        } catch let error as PGError where error.sqlState == "2BP01" || error.sqlState == "0A000" {
            try db.execute("ROLLBACK TO SAVEPOINT pm_shape")
            return false
        }
    }

    /// The objects that depend on a column (views, mostly), for a warning.
    private func dependents(table: String, column: String) throws -> String {
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

    static func qualified(_ name: String) -> String {
        "podio_apps." + TableNaming.quoteIdentifier(name)
    }

    private func quote(_ name: String) -> String {
        TableNaming.quoteIdentifier(name)
    }
}
