import LibPQ
import Logging

/// Builds one typed view per mirrored app in schema `podio_views` (docs/views.md).
///
/// Each view reads the typed columns of `podio.item_values` (never the items' JSON): a LEFT JOIN
/// on the primary key `(item_id, field_id, position = 0)` per single-valued field, so that a
/// filter on such a column runs as an index scan of `item_values`, and a correlated subquery per
/// multi-valued field, evaluated only when a query uses that column. Names: `ViewNaming`.
///
/// Every rebuild runs in one transaction (DROP VIEW + CREATE VIEW), serialized by an advisory
/// lock, so a query sees the old view or the new one, never none. Views carry a comment that
/// marks them as podio-mirror's (`podio-mirror: typed view of app <id>`), which is how views of
/// renamed or removed apps are found and dropped.
public struct ViewBuilder: Sendable {
    let db: PGConnection
    let logger: Logger

    /// Transaction advisory lock held while views are rebuilt (sync engine and `views` command
    /// may rebuild at the same time).
    static let lockKey: Int64 = LockKeys.views
    /// How long a rebuild waits for a lock: a long query on the old view holds one, and the sync
    /// must not hang behind it (the rebuild fails instead, and the next one catches up).
    static let lockTimeout = "30s"
    /// Start of the comment of every view this builder made.
    static let marker = "podio-mirror: typed view of app "

    public init(db: PGConnection, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// (Re)creates the view of one app; returns its name, or nil when the app is not mirrored
    /// (any view left from it is dropped). Views of other apps whose name must change because
    /// of this app (a name collision decided anew) are rebuilt in the same transaction.
    /// Synchronous: call inside `PGConnection.run`, outside any open transaction.
    @discardableResult
    public func rebuild(appID: Int) throws -> String? {
        try db.withTransaction { db in
            try Self.prepare(db)
            let apps = try Self.loadApps(db)
            let names = ViewNaming.viewNames(apps.map(\.label))
            let existing = try Self.existingViews(db)
            guard let name = names[appID] else {
                try dropViews(existing.filter { $0.appID == appID }.map(\.name), db)
                return nil
            }
            // Apps whose stored name is no longer theirs (the set of apps changed): rebuilt too.
            let moved = apps.filter { $0.appID != appID && $0.viewName != nil && $0.viewName != names[$0.appID] }
            let targets = apps.filter { $0.appID == appID } + moved
            try dropViews(Self.viewsToDrop(for: targets, names: names, existing: existing), db)
            for app in targets {
                guard let viewName = names[app.appID] else { continue }
                try create(app, viewName: viewName, db)
            }
            return name
        }
    }

    /// (Re)creates the views of every app in `podio.apps` and drops podio-mirror's views that
    /// belong to no app any more; returns the views' names, ordered by app id.
    @discardableResult
    public func rebuildAll() throws -> [String] {
        try db.withTransaction { db in
            try Self.prepare(db)
            let apps = try Self.loadApps(db)
            let names = ViewNaming.viewNames(apps.map(\.label))
            let existing = try Self.existingViews(db)
            var drop = Self.viewsToDrop(for: apps, names: names, existing: existing)
            let known = Set(apps.map(\.appID))
            drop += existing.filter { view in view.appID.map { !known.contains($0) } ?? false }.map(\.name)
            try dropViews(drop, db)
            var built: [String] = []
            for app in apps {
                guard let viewName = names[app.appID] else { continue }
                try create(app, viewName: viewName, db)
                built.append(viewName)
            }
            return built
        }
    }

    // MARK: - Steps

    struct StoredApp: Sendable {
        var label: ViewNaming.AppLabel
        var viewName: String?
        var appID: Int { label.appID }
    }

    struct ExistingView: Sendable {
        var name: String
        /// The app named in the marker comment; nil for a view podio-mirror did not make.
        var appID: Int?
    }

    static func prepare(_ db: PGConnection) throws {
        try db.execute("SET LOCAL lock_timeout = '\(lockTimeout)'")
        try db.query("SELECT pg_advisory_xact_lock($1::bigint)", [lockKey])
    }

    static func loadApps(_ db: PGConnection) throws -> [StoredApp] {
        try db.query("SELECT app_id, url_label, name, view_name FROM podio.apps ORDER BY app_id").rows.compactMap { row in
            guard let id = row.int("app_id") else { return nil }
            return StoredApp(
                label: ViewNaming.AppLabel(appID: id, urlLabel: row.string("url_label"), name: row.string("name")),
                viewName: row.string("view_name"))
        }
    }

    /// Views in `podio_views`, with the app id of podio-mirror's marker comment.
    static func existingViews(_ db: PGConnection) throws -> [ExistingView] {
        try db.query(
            """
            SELECT c.relname AS name,
                   substring(obj_description(c.oid, 'pg_class') FROM '^' || $1::text || '([0-9]{1,18})') AS app_id
            FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
            WHERE n.nspname = 'podio_views' AND c.relkind = 'v'
            """, [marker]
        ).rows.compactMap { row in
            row.string("name").map { ExistingView(name: $0, appID: row.int("app_id")) }
        }
    }

    /// Existing views that stand in the way of (re)building `targets`: their stored names,
    /// views marked as theirs, and whatever view holds their new names.
    static func viewsToDrop(for targets: [StoredApp], names: [Int: String], existing: [ExistingView]) -> [String] {
        let ids = Set(targets.map(\.appID))
        var wanted = Set(targets.compactMap(\.viewName))
        wanted.formUnion(targets.compactMap { names[$0.appID] })
        return existing.filter { view in
            wanted.contains(view.name) || view.appID.map { ids.contains($0) } ?? false
        }.map(\.name)
    }

    func dropViews(_ names: [String], _ db: PGConnection) throws {
        var seen = Set<[UInt8]>()
        for name in names where seen.insert(Array(name.utf8)).inserted {
            do {
                try db.execute("DROP VIEW IF EXISTS podio_views.\(ViewNaming.quoteIdentifier(name))")
                logger.debug("dropped view", metadata: ["view": "\(name)"])
            } catch let error as PGError where error.sqlState == "2BP01" {
                throw MirrorError(
                    .database,
                    "the view podio_views.\(name) cannot be rebuilt because other objects depend on it"
                        + (error.detail.map { " (\($0))" } ?? ""),
                    fix: "drop the dependent objects, run `podio-mirror views`, then create them again")
            }
        }
    }

    static func loadFields(appID: Int, _ db: PGConnection) throws -> [ViewField] {
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
            return ViewField(
                fieldID: id, externalID: row.string("external_id"), label: row.string("label"),
                type: row.string("type") ?? "unknown", multiple: row.bool("multiple") ?? false,
                endSetting: row.string("end_setting"), timeSetting: row.string("time_setting"),
                returnType: row.string("return_type"))
        }
    }

    /// Creates the view (its name is free: `dropViews` ran), comments it, records its name.
    func create(_ app: StoredApp, viewName: String, _ db: PGConnection) throws {
        let fields = try Self.loadFields(appID: app.appID, db)
        let definition = ViewDefinition(appID: app.appID, fields: fields)
        if !definition.omittedFieldIDs.isEmpty {
            logger.warning(
                "app has more fields than a view can hold; some are left out of its view",
                metadata: ["app_id": "\(app.appID)", "fields": "\(definition.omittedFieldIDs)"])
        }
        try db.execute(definition.createStatement(viewName: viewName))
        // Comments carry Podio's labels: quoted by the server from parameters.
        let comments = try db.query(
            """
            SELECT format('COMMENT ON VIEW podio_views.%I IS %L;', $1::text, $2::text)
                   || coalesce(string_agg(format(E'\\nCOMMENT ON COLUMN podio_views.%I.%I IS %L;', $1::text, c, t), '' ORDER BY o), '')
                   AS script
            FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(c, t, o)
            """,
            [
                viewName, "\(Self.marker)\(app.appID) (\(app.label.name ?? "")); rebuilt by `podio-mirror views`",
                definition.columns.map(\.name), definition.columns.map(\.comment),
            ]
        ).first?.string("script")
        if let comments { try db.execute(comments) }
        try db.query("UPDATE podio.apps SET view_name = $2 WHERE app_id = $1", [app.appID, viewName])
        logger.debug(
            "rebuilt typed view",
            metadata: ["view": "podio_views.\(viewName)", "app_id": "\(app.appID)", "columns": "\(definition.columns.count)"])
    }
}
