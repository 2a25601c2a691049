import LibPQ
import Logging

/// The app tables: one real table per mirrored app in schema `podio_apps` (docs/tables.md).
///
/// A table holds the app's live items, one typed column per field (`AppTableLayout`), and is
/// written in the page's transaction (`writeChanged`). `reconcile` keeps its shape in step with
/// the app's stored field definitions without any call to Podio: values of new or reshaped
/// columns come from `podio.items.raw`. Its columns are recorded in `podio.app_columns`, so the
/// writers follow the table as it is. Every method runs inside a transaction the caller opened.
///
/// This type decides; the catalog (`AppTableCatalog`), the statements that change a table's shape
/// (`AppTableDDL`), the rows (`AppTableRows`) and the catalogue comments (`AppTableComments`)
/// each have their own type.
public struct AppTableStore: Sendable {
    let db: PGConnection
    let logger: Logger

    /// How long a change of shape waits for a lock: a long query of a user's holds one, and the
    /// sync must fail (and retry next run) rather than hang behind it.
    static let lockTimeout = "30s"

    public init(db: PGConnection, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    var catalog: AppTableCatalog { AppTableCatalog(db: db) }
    var ddl: AppTableDDL { AppTableDDL(db: db, logger: logger) }
    var rows: AppTableRows { AppTableRows(db: db) }

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
            created || !renamedTables.isEmpty || !added.isEmpty || !dropped.isEmpty || !renamed.isEmpty
                || !retyped.isEmpty
        }
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
        let apps = try catalog.loadApps()
        let names = TableNaming.tableNames(apps.map(\.label))
        guard let name = names[appID], let app = apps.first(where: { $0.appID == appID }) else { return report }
        report.table = name
        report.renamedTables = try ddl.moveTables(apps, names: names)

        var created = false
        if try !catalog.tableExists(name) {
            try ddl.create(app, name: name)
            try catalog.forgetColumns(appID: appID)
            created = true
            report.created = true
        }
        let table = TableNaming.qualifiedTable(name)
        let fields = try catalog.loadFields(appID: appID)
        var stored = try catalog.loadColumns(appID: appID)
        // A kept column whose field came back is the field's column again.
        let active = Set(fields.map(\.fieldID))
        for index in stored.indices where stored[index].state == .kept && active.contains(stored[index].column.fieldID)
        {
            stored[index].state = .active
        }

        // Columns of fields that are gone (or left out): dropped, or kept while a user's object
        // needs them. The names of kept columns are never handed out, so the layout is decided
        // again until no column changes state.
        var layout: AppTableLayout
        while true {
            let reserved = Set(stored.filter { $0.state == .kept }.map(\.column.name))
            layout = AppTableLayout(fields: fields, reserved: reserved)
            let wanted = Set(layout.columns.map(\.key))
            var newlyKept = false
            for index in stored.indices
            where !wanted.contains(stored[index].column.key) && stored[index].state != .dropped {
                let column = stored[index].column
                if try ddl.dropColumn(table, column.name) {
                    stored[index].state = .dropped
                    report.dropped.append(column.name)
                } else if stored[index].state != .kept {
                    stored[index].state = .kept
                    newlyKept = true
                    let users = try catalog.dependents(table: name, column: column.name)
                    report.warnings.append(
                        "field \(column.fieldID) of app \(appID) is gone, but \(users) depends on its column "
                            + "podio_apps.\(name).\(column.name): the column is kept and no longer written; "
                            + "drop that object and the next sync drops the column")
                }
            }
            stored.removeAll { $0.state == .dropped }
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
            guard let old = storedByKey[wantedColumn.key], old.state != .kept else { continue }
            kinds[wantedColumn.key] = old.column.kind
            guard old.column.kind != wantedColumn.kind else { continue }
            if try ddl.retype(table, old.column.name, to: wantedColumn.kind) {
                kinds[wantedColumn.key] = wantedColumn.kind
                report.retyped.append(wantedColumn.name)
                refill.append(wantedColumn)
            } else if old.state != .stale {
                let users = try catalog.dependents(table: name, column: old.column.name)
                report.warnings.append(
                    "field \(wantedColumn.fieldID) of app \(appID) changed shape, but \(users) depends on its column "
                        + "podio_apps.\(name).\(old.column.name): the column keeps its type \(old.column.kind.sqlType); "
                        + "drop that object and the next sync changes it to \(wantedColumn.kind.sqlType)")
            }
        }

        // Renames, in two steps so that two columns can swap names.
        let moving = layout.columns.compactMap { column -> (from: String, to: String)? in
            guard let old = storedByKey[column.key], old.state != .kept, old.column.name != column.name else {
                return nil
            }
            return (old.column.name, column.name)
        }
        try ddl.renameColumns(table, moving)
        report.renamed += moving.map { "\($0.from) → \($0.to)" }

        // New fields.
        for column in layout.columns where storedByKey[column.key] == nil {
            try ddl.addColumn(table, column)
            kinds[column.key] = column.kind
            report.added.append(column.name)
            refill.append(column)
        }
        for column in layout.columns
        where column.kind == .idArray && ["app", "contact", "member"].contains(column.fieldType) {
            try ddl.indexReferences(table, column)
        }

        // What the table has now: the layout with the kinds the columns really have, plus kept ones.
        var final = layout.columns.map { column -> AppTableCatalog.StoredColumn in
            var actual = column
            actual.kind = kinds[column.key] ?? column.kind
            let stale = actual.kind != column.kind
            return AppTableCatalog.StoredColumn(column: actual, state: stale ? .stale : .active)
        }
        final += stored.filter { $0.state == .kept }
        try catalog.saveColumns(appID: appID, final)

        if created {
            report.filledRows = try db.query(
                rows.insertStatement(table: table, columns: final.filter(\.state.isWritten).map(\.column)), [appID]
            ).affectedRows
        } else if !refill.isEmpty {
            report.filledRows = try rows.fill(
                table: table, appID: appID,
                columns: refill.map { column in
                    var actual = column
                    actual.kind = kinds[column.key] ?? column.kind
                    return actual
                })
        }
        try AppTableComments(db: db).sync(appID: appID, table: name)
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
        for app in try catalog.loadApps() {
            let report = try reconcile(appID: app.appID)
            if let table = report.table { done.append((app.appID, table, report)) }
        }
        return done
    }

    // MARK: - Rows

    /// The table and the columns the writers fill (kept columns are left alone). Reconciles
    /// first when the app has no table yet (a dry run, or an app stored before its table).
    func writable(appID: Int) throws -> (table: String, columns: [AppColumn]) {
        var name = try catalog.tableName(appID: appID)
        let present = try name.map(catalog.tableExists) ?? false
        if !present {
            name = try reconcile(appID: appID).table
        }
        guard let name else {
            throw MirrorError(.database, "app \(appID) has no table in podio_apps", fix: "run `podio-mirror tables`")
        }
        return (
            TableNaming.qualifiedTable(name),
            try catalog.loadColumns(appID: appID).filter(\.state.isWritten).map(\.column)
        )
    }

    /// Writes the rows of the page's changed items into the app's table (`AppTableRows`),
    /// reconciling it first when it has none yet. `page` is the page's body, read in Swift.
    func writeChanged(appID: Int, page: PageItems) throws -> AppTableRows.RowFindings {
        let (table, columns) = try writable(appID: appID)
        return try rows.writeChanged(appID: appID, table: table, columns: columns, page: page)
    }

    /// Items whose revision did not move but whose activity did: `last_event_on` follows.
    func refreshActivity(appID: Int, items: [Int]) throws {
        try rows.refreshActivity(appID: appID, items: items)
    }

    /// Removes deleted items from the app's table (their tombstones stay in `podio.items`).
    func deleteRows(appID: Int, items: [Int]) throws {
        try rows.deleteRows(appID: appID, items: items)
    }
}
