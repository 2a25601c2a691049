import LibPQ
import Logging

/// The statements that change the shape of the app tables: make a table, rename tables and
/// columns (through temporary names, so that two can swap), add, drop and retype columns, and
/// index reference columns. A drop or type change an object of a user's blocks is refused
/// quietly (`false`). Runs inside the caller's transaction.
struct AppTableDDL: Sendable {
    let db: PGConnection
    let logger: Logger

    var catalog: AppTableCatalog { AppTableCatalog(db: db) }

    /// Makes an app's table with its fixed columns and records its name.
    func create(_ app: AppTableCatalog.StoredApp, name: String) throws {
        let table = TableNaming.qualifiedTable(name)
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
        try catalog.setTableName(appID: app.appID, name)
        logger.debug("created app table", metadata: ["table": "podio_apps.\(name)", "app_id": "\(app.appID)"])
    }

    /// Renames the tables of apps whose name changed (a URL label changed, or a collision was
    /// decided anew), through temporary names so that two tables can swap; returns the renames
    /// (`from → to`).
    func moveTables(_ apps: [AppTableCatalog.StoredApp], names: [Int: String]) throws -> [String] {
        var moving: [(app: AppTableCatalog.StoredApp, from: String, to: String)] = []
        for app in apps {
            guard let from = app.tableName, let to = names[app.appID], from != to, try catalog.tableExists(from) else {
                continue
            }
            moving.append((app, from, to))
        }
        for move in moving {
            try db.execute(
                "ALTER TABLE \(TableNaming.qualifiedTable(move.from)) RENAME TO \(quote("~pm \(move.app.appID)"))")
        }
        var renamed: [String] = []
        for move in moving {
            if try catalog.tableExists(move.to) {
                throw MirrorError(
                    .database,
                    "the table podio_apps.\(move.to) is in the way of app \(move.app.appID)'s table",
                    fix:
                        "podio_apps holds podio-mirror's tables only: move or drop podio_apps.\(move.to), then sync again"
                )
            }
            try db.execute(
                "ALTER TABLE \(TableNaming.qualifiedTable("~pm \(move.app.appID)")) RENAME TO \(quote(move.to))")
            try catalog.setTableName(appID: move.app.appID, move.to)
            renamed.append("\(move.from) → \(move.to)")
        }
        return renamed
    }

    /// Renames columns of `table`, in two steps so that two columns can swap names.
    func renameColumns(_ table: String, _ moves: [(from: String, to: String)]) throws {
        for (index, move) in moves.enumerated() {
            try db.execute("ALTER TABLE \(table) RENAME COLUMN \(quote(move.from)) TO \(quote("~pm \(index)"))")
        }
        for (index, move) in moves.enumerated() {
            try db.execute("ALTER TABLE \(table) RENAME COLUMN \(quote("~pm \(index)")) TO \(quote(move.to))")
        }
    }

    func addColumn(_ table: String, _ column: AppColumn) throws {
        try db.execute("ALTER TABLE \(table) ADD COLUMN \(quote(column.name)) \(column.kind.sqlType)")
    }

    /// A GIN index on a reference column, so that it is joinable from both ends:
    /// `WHERE client @> ARRAY[123::bigint]`. The index is looked for first: CREATE INDEX IF NOT
    /// EXISTS would lock the table on every sync only to find it.
    func indexReferences(_ table: String, _ column: AppColumn) throws {
        let index = "refs \(column.fieldID) \(column.part.rawValue)"
        if try !catalog.relationExists(index) {
            try db.execute("CREATE INDEX \(quote(index)) ON \(table) USING gin (\(quote(column.name)))")
        }
    }

    /// Drops a column; false when an object of the user's depends on it (nothing changed then).
    func dropColumn(_ table: String, _ column: String) throws -> Bool {
        try inSavepoint("ALTER TABLE \(table) DROP COLUMN IF EXISTS \(quote(column))")
    }

    /// Changes a column's type (its values are computed again after); false when an object of
    /// the user's depends on it.
    func retype(_ table: String, _ column: String, to kind: ColumnPart.Kind) throws -> Bool {
        try inSavepoint("ALTER TABLE \(table) ALTER COLUMN \(quote(column)) TYPE \(kind.sqlType) USING NULL")
    }

    /// Runs one statement in a savepoint; false when PostgreSQL refused it because other objects
    /// depend on what it changes (2BP01, or 0A000 for a type change under a view).
    func inSavepoint(_ sql: String) throws -> Bool {
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

    func quote(_ name: String) -> String {
        TableNaming.quoteIdentifier(name)
    }
}
