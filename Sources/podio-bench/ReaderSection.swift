import Foundation
import LibPQ

/// The reader section: the same queries on the app's relation in the mirror and on a plain copy
/// of it (`CREATE TABLE AS`), timed by `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)`.
///
/// The relation is picked at run time: `podio_apps."<podio.apps.table_name>"` when that column
/// exists (one table per app), else `podio_views."<podio.apps.view_name>"` (one view per app).
/// The columns are picked from the relation's catalog, so the queries do not depend on names.
enum ReaderSection {
    /// Best of this many runs per query and side.
    static let rounds = 3
    /// Target: the mirror's relation at most this many times slower than the plain copy.
    static let target = 1.2
    /// Columns every relation has that are not fields (the view's five, and the table's two more).
    static let fixedColumns: Set<String> = [
        "item_id", "app_item_id", "title", "created_on", "last_edit_on", "revision", "last_event_on",
    ]

    struct Column: Sendable {
        var name: String
        /// `format_type` of the column (`numeric`, `text[]`, `timestamp with time zone`, …).
        var type: String
        var isArray: Bool { type.hasSuffix("[]") }
        var isScalar: Bool { !isArray && type != "jsonb" && type != "json" }
        var isDate: Bool { type == "date" || type.hasPrefix("timestamp") }
        var quoted: String { ReaderSection.quote(name) }
    }

    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// Runs the section on `db` (the bench's database after the main scenario).
    static func run(_ db: PGConnection, appID: Int) throws -> Report.Reader {
        // 1. Which relation: a table per app when the schema has podio.apps.table_name.
        let hasTables =
            try db.query(
                """
                SELECT EXISTS (SELECT 1 FROM information_schema.columns
                               WHERE table_schema = 'podio' AND table_name = 'apps' AND column_name = 'table_name') AS yes
                """
            ).first?.bool("yes") ?? false
        let nameColumn = hasTables ? "table_name" : "view_name"
        guard
            let name = try db.query("SELECT \(nameColumn) AS name FROM podio.apps WHERE app_id = $1", [appID]).first?
                .string("name")
        else {
            throw Bench.Failure("podio.apps.\(nameColumn) of app \(appID) is not set")
        }
        let relation = (hasTables ? "podio_apps." : "podio_views.") + quote(name)

        // 2. The copy, and statistics (and visibility maps) for both sides.
        Runner.log("reader: CREATE TABLE bench_copy AS SELECT * FROM \(relation)")
        try db.execute("DROP TABLE IF EXISTS bench_copy")
        let copyStarted = ContinuousClock.now
        try db.execute("CREATE TABLE bench_copy AS SELECT * FROM \(relation)")
        let copySeconds = Bench.seconds(ContinuousClock.now - copyStarted)
        // Plain VACUUM (ANALYZE): every table of this database, the mirror's and the copy.
        try db.execute("VACUUM (ANALYZE)")
        let rows = try db.query("SELECT count(*) AS n FROM bench_copy").first?.int("n") ?? 0

        // 3. The columns, from the catalog.
        let columns: [Column] = try db.query(
            """
            SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
            FROM pg_attribute AS a
            WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """, [relation]
        ).rows.compactMap { row in
            guard let name = row.string("name"), let type = row.string("type") else { return nil }
            return Column(name: name, type: type)
        }
        let fields = columns.filter { !fixedColumns.contains($0.name) }
        let picks = try pickColumns(db, fields: fields)

        // 4. The queries.
        var specs: [(name: String, sql: String)] = [
            ("count(*)", "SELECT count(*) FROM %R"),
            ("SELECT *", "SELECT * FROM %R"),
        ]
        if let category = picks.category, let number = picks.number {
            specs.append(
                (
                    "GROUP BY \(category.name), sum(\(number.name))",
                    "SELECT \(category.quoted), count(*), sum(\(number.quoted)) FROM %R GROUP BY \(category.quoted)"
                ))
        }
        if let date = picks.date, let condition = try rangeCondition(db, date) {
            specs.append(("date range on \(date.name)", "SELECT * FROM %R WHERE \(condition)"))
        }
        if let last = picks.last, let condition = try rangeCondition(db, last) {
            specs.append(("filter on last field \(last.name)", "SELECT * FROM %R WHERE \(condition)"))
        }
        if let array = picks.array {
            specs.append(
                (
                    "unnest(\(array.name)), count per element",
                    "SELECT e, count(*) FROM %R CROSS JOIN LATERAL unnest(\(array.quoted)) AS e GROUP BY e"
                ))
        }
        var queries: [Report.ReaderQuery] = []
        for spec in specs {
            Runner.log("reader: \(spec.name)")
            var mirror: [Timing] = []
            var copy: [Timing] = []
            // Alternating, so that neither side always runs on a warmer cache.
            for _ in 0..<rounds {
                mirror.append(try explain(db, spec.sql.replacingOccurrences(of: "%R", with: relation)))
                copy.append(try explain(db, spec.sql.replacingOccurrences(of: "%R", with: "bench_copy")))
            }
            let m = best(mirror)
            let c = best(copy)
            let ratio = c.executionMs > 0 ? m.executionMs / c.executionMs : .infinity
            queries.append(
                Report.ReaderQuery(
                    name: spec.name, sql: spec.sql.replacingOccurrences(of: "%R", with: relation),
                    mirrorMs: m.executionMs, copyMs: c.executionMs, mirrorPlanningMs: m.planningMs,
                    copyPlanningMs: c.planningMs,
                    mirrorRows: m.rows, copyRows: c.rows, ratio: ratio, targetMet: ratio <= target))
        }
        return Report.Reader(
            relation: relation, rows: rows, copySeconds: copySeconds,
            columns: Report.ReaderColumns(
                category: picks.category?.name, number: picks.number?.name, date: picks.date?.name,
                lastField: picks.last?.name, array: picks.array?.name),
            queries: queries)
    }

    struct Picks {
        var category: Column?
        var number: Column?
        var date: Column?
        var last: Column?
        var array: Column?
    }

    /// - category: the text field column with the fewest distinct values (at least 2) in the
    ///   copy, not the `<name>_currency` column of a numeric `<name>` (a money field's currency);
    /// - number: the first numeric field column;
    /// - date: the first date or timestamptz field column;
    /// - last: the last scalar (not array, not json) field column;
    /// - array: the first text[] field column, else the first array field column.
    static func pickColumns(_ db: PGConnection, fields: [Column]) throws -> Picks {
        var picks = Picks()
        let numericNames = Set(fields.filter { $0.type == "numeric" }.map(\.name))
        let texts = fields.filter { column in
            guard column.type == "text" else { return false }
            if column.name.hasSuffix("_currency")
                && numericNames.contains(String(column.name.dropLast("_currency".count)))
            {
                return false
            }
            return true
        }
        if !texts.isEmpty {
            let list = texts.enumerated().map { "count(DISTINCT \($0.element.quoted)) AS d\($0.offset)" }.joined(
                separator: ", ")
            if let row = try db.query("SELECT \(list) FROM bench_copy").first {
                var best: (Column, Int)?
                for (offset, column) in texts.enumerated() {
                    guard let distinct = row.int("d\(offset)"), distinct >= 2 else { continue }
                    if best == nil || distinct < best!.1 { best = (column, distinct) }
                }
                picks.category = best?.0
            }
        }
        picks.number = fields.first { $0.type == "numeric" }
        picks.date = fields.first { $0.isDate }
        picks.last = fields.last { $0.isScalar }
        picks.array = fields.first { $0.type == "text[]" } ?? fields.first { $0.isArray }
        return picks
    }

    /// A condition selecting about 10 % of the non-null values of `column`: between its 45th
    /// and 55th percentiles in the copy, or equal to the median when those are the same value.
    static func rangeCondition(_ db: PGConnection, _ column: Column) throws -> String? {
        let row = try db.query(
            """
            SELECT (percentile_disc(0.45) WITHIN GROUP (ORDER BY \(column.quoted)))::text AS lo,
                   (percentile_disc(0.55) WITHIN GROUP (ORDER BY \(column.quoted)))::text AS hi
            FROM bench_copy
            """
        ).first
        guard let lo = row?.string("lo"), let hi = row?.string("hi") else { return nil }
        let cast = "::" + column.type
        if lo == hi { return "\(column.quoted) = \(literal(lo))\(cast)" }
        return "\(column.quoted) >= \(literal(lo))\(cast) AND \(column.quoted) < \(literal(hi))\(cast)"
    }

    struct Timing {
        var executionMs: Double
        var planningMs: Double
        var rows: Int
    }

    static func best(_ timings: [Timing]) -> Timing {
        var result = timings[0]
        for timing in timings.dropFirst() where timing.executionMs < result.executionMs { result = timing }
        result.planningMs = timings.map(\.planningMs).min() ?? result.planningMs
        return result
    }

    /// One `EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)`: the query runs to completion in the
    /// server (every row computed, none sent to the client); returns the server's execution
    /// and planning time and the rows of the top plan node.
    static func explain(_ db: PGConnection, _ sql: String) throws -> Timing {
        guard let text = try db.query("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) \(sql)").first?[0],
            let array = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]],
            let top = array.first,
            let execution = (top["Execution Time"] as? NSNumber)?.doubleValue
        else {
            throw Bench.Failure("EXPLAIN returned no execution time for: \(sql)")
        }
        let planning = (top["Planning Time"] as? NSNumber)?.doubleValue ?? 0
        let rows = ((top["Plan"] as? [String: Any])?["Actual Rows"] as? NSNumber)?.intValue ?? -1
        return Timing(executionMs: execution, planningMs: planning, rows: rows)
    }
}
