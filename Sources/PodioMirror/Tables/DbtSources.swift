import Foundation
import LibPQ

/// A dbt `sources.yml` for the mirror (`podio-mirror dbt-sources`, docs/dbt.md): the app tables
/// with their Podio names and column descriptions (the catalogue's comments), `podio.items`,
/// `podio.comments` and `podio.files`, with freshness measured by the mirror's own syncs and
/// thresholds derived from the schedule. Every text is written as a YAML double-quoted scalar,
/// and a text Jinja would read (dbt renders descriptions) is escaped for it.
public struct DbtSources: Sendable {
    /// One app table as the catalogue describes it.
    public struct Table: Sendable {
        public var appID: Int
        public var name: String
        public var description: String?
        public var columns: [(name: String, description: String?)]
    }

    public var tables: [Table]
    /// How often the mirror is meant to sync, in seconds.
    public var everySeconds: Double

    /// Reads the app tables and their comments. `every`: the schedule's interval; nil reads it
    /// from the `run` schedulers sharing the database (`podio.workers`), else one hour.
    public static func load(_ db: PGConnection, every: Double?) throws -> DbtSources {
        var tables: [Table] = []
        for app in try db.query(
            """
            SELECT a.app_id, a.table_name, obj_description(c.oid, 'pg_class') AS description, c.oid::bigint AS oid
            FROM podio.apps AS a
            JOIN pg_namespace AS n ON n.nspname = 'podio_apps'
            JOIN pg_class AS c ON c.relnamespace = n.oid AND c.relname = a.table_name AND c.relkind IN ('r', 'p')
            ORDER BY a.table_name
            """
        ).rows {
            guard let appID = app.int("app_id"), let name = app.string("table_name"), let oid = app.int("oid") else {
                continue
            }
            let columns = try db.query(
                """
                SELECT attname, col_description(attrelid, attnum) AS description FROM pg_attribute
                WHERE attrelid = $1::bigint::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum
                """, [oid]
            ).rows.compactMap { row in row.string("attname").map { ($0, row.string("description")) } }
            tables.append(Table(appID: appID, name: name, description: app.string("description"), columns: columns))
        }
        var seconds = every
        if seconds == nil {
            seconds =
                try db.query(
                    """
                    SELECT every_seconds::float8 AS s FROM podio.workers WHERE stopped_at IS NULL
                    ORDER BY seen_at DESC LIMIT 1
                    """
                ).first?.double("s")
        }
        return DbtSources(tables: tables, everySeconds: seconds ?? 3600)
    }

    public init(tables: [Table], everySeconds: Double) {
        self.tables = tables
        self.everySeconds = everySeconds
    }

    /// A freshness threshold as dbt writes it.
    public struct Threshold: Sendable, Equatable {
        public var count: Int
        public var period: String
    }

    /// Warned after two intervals were missed (at least 30 minutes: a run takes time),
    /// an error after six (at least two hours).
    public var warnAfter: Threshold { Self.threshold(seconds: max(2 * everySeconds, 1800)) }
    public var errorAfter: Threshold { Self.threshold(seconds: max(6 * everySeconds, 7200)) }

    static func threshold(seconds: Double) -> Threshold {
        let minutes = Int((seconds / 60).rounded(.up))
        if minutes <= 48 * 60 { return Threshold(count: minutes, period: "minute") }
        return Threshold(count: Int((seconds / 3600).rounded(.up)), period: "hour")
    }

    /// When the mirror last finished a pass over the app (or over any app).
    static func loadedAtQuery(appID: Int?) -> String {
        "select max(greatest(last_delta_sync_at, last_full_sync_at)) from podio.sync_state"
            + (appID.map { " where app_id = \($0)" } ?? "")
    }

    /// The tables of schema `podio` described here, with their main columns.
    static let podioTables: [(name: String, description: String, columns: [(String, String)])] = [
        (
            "items", "Every item the mirror has seen, with its raw JSON; deleted_at is set once Podio deleted it.",
            [
                ("item_id", "Podio's item id (primary key)"), ("app_id", "The item's app (podio.apps)"),
                ("app_item_id", "The item's number within its app"), ("title", "The item's title"),
                ("revision", "Podio's current revision"), ("created_on", "When the item was created (UTC)"),
                ("last_edit_on", "current_revision.created_on: the last edit (UTC)"),
                ("last_event_on", "The last activity, comments and files included (UTC)"),
                ("raw", "The item exactly as Podio sent it"),
                ("deleted_at", "When the mirror learnt that Podio deleted the item (NULL while live)"),
                ("synced_at", "When the mirror last wrote the row"),
            ]
        ),
        (
            "comments", "Comments on items; deleted_at is set once Podio no longer lists one.",
            [
                ("comment_id", "Podio's comment id (primary key)"), ("item_id", "The item commented on"),
                ("app_id", "The item's app"), ("value", "The text"), ("created_on", "When it was written (UTC)"),
                ("created_by_name", "Who wrote it"), ("deleted_at", "When the mirror learnt it was deleted"),
            ]
        ),
        (
            "files", "File metadata of items (the files themselves are not downloaded).",
            [
                ("file_id", "Podio's file id (primary key)"), ("item_id", "The item it is attached to"),
                ("app_id", "The item's app"), ("name", "The file name"), ("mimetype", "Its MIME type"),
                ("size", "Its size in bytes"), ("deleted_at", "When the mirror learnt it was removed"),
            ]
        ),
    ]

    /// The `sources.yml` text.
    public var yaml: String {
        var out = YAMLWriter()
        out.comment("Generated by `podio-mirror dbt-sources` from the mirror's catalogue; generate it again after")
        out.comment(
            "apps or fields change in Podio. Freshness: the mirror's last pass over each app (podio.sync_state),")
        out.comment(
            "warned after \(warnAfter.count) \(warnAfter.period)s, an error after \(errorAfter.count) \(errorAfter.period)s "
                + "(a sync every \(DurationParser.describe(everySeconds))).")
        out.line(0, "version: 2")
        out.line(0, "")
        out.line(0, "sources:")
        source(&out, name: "podio_apps", description: "One typed table per mirrored Podio app (docs/tables.md).") {
            out in
            for table in tables {
                out.line(3, "- name: \(YAMLWriter.quoted(table.name))")
                if let description = table.description, !description.isEmpty {
                    out.line(4, "description: \(YAMLWriter.quoted(YAMLWriter.jinjaSafe(description)))")
                }
                out.line(4, "config:")
                out.line(5, "loaded_at_query: \(YAMLWriter.quoted(Self.loadedAtQuery(appID: table.appID)))")
                out.line(5, "meta:")
                out.line(6, "podio_app_id: \(table.appID)")
                if !table.columns.isEmpty {
                    out.line(4, "columns:")
                    for column in table.columns {
                        out.line(5, "- name: \(YAMLWriter.quoted(column.name))")
                        if !YAMLWriter.isPlainIdentifier(column.name) { out.line(6, "quote: true") }
                        let text = column.description ?? Self.fixedColumnDescriptions[column.name]
                        if let text, !text.isEmpty {
                            out.line(6, "description: \(YAMLWriter.quoted(YAMLWriter.jinjaSafe(text)))")
                        }
                    }
                }
            }
        }
        source(&out, name: "podio", description: "podio-mirror's own tables: raw items, comments, files.") { out in
            for table in Self.podioTables {
                out.line(3, "- name: \(YAMLWriter.quoted(table.name))")
                out.line(4, "description: \(YAMLWriter.quoted(table.description))")
                out.line(4, "config:")
                out.line(5, "loaded_at_query: \(YAMLWriter.quoted(Self.loadedAtQuery(appID: nil)))")
                out.line(4, "columns:")
                for (name, description) in table.columns {
                    out.line(5, "- name: \(name)")
                    out.line(6, "description: \(YAMLWriter.quoted(description))")
                }
            }
        }
        return out.text
    }

    private func source(
        _ out: inout YAMLWriter, name: String, description: String, tables body: (inout YAMLWriter) -> Void
    ) {
        out.line(1, "- name: \(name)")
        out.line(2, "schema: \(name)")
        out.line(2, "description: \(YAMLWriter.quoted(description))")
        out.line(2, "quoting:")
        out.line(3, "identifier: true")
        out.line(2, "config:")
        out.line(3, "freshness:")
        out.line(4, "warn_after: {count: \(warnAfter.count), period: \(warnAfter.period)}")
        out.line(4, "error_after: {count: \(errorAfter.count), period: \(errorAfter.period)}")
        out.line(2, "tables:")
        body(&out)
    }

    /// Descriptions of the columns every app table starts with.
    static let fixedColumnDescriptions: [String: String] = [
        "item_id": "Podio's item id (primary key; podio.items.item_id)",
        "app_item_id": "The item's number within its app",
        "title": "The item's title",
        "revision": "Podio's current revision of the item",
        "created_on": "When the item was created (UTC)",
        "last_edit_on": "The item's last edit (UTC)",
        "last_event_on": "The item's last activity, comments and files included (UTC)",
    ]
}
