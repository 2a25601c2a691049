import LibPQ

/// The comparison of a mirror with the simulator's ground truth, shared by the engine and the
/// CLI tests.
public enum MirrorComparison {
    /// Lines returned at most.
    static let limit = 20

    /// Differences between the mirror and the truth (`GET /_sim/truth`) for the given apps:
    /// first the items of `podio.items` (missing or extra live items, items whose revision or
    /// title differ, deleted items the mirror still shows live), then what `AppTableOracle`
    /// finds in the apps' tables (rows, columns, column types and every typed value). All of it
    /// is read in one snapshot, so a write committed meanwhile cannot make the two parts
    /// disagree. Empty means equal; at most 20 lines.
    public static func differences(_ db: PGConnection, truth: String, apps: [Int]) throws -> [String] {
        try db.withTransaction { connection in
            try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let items = try connection.query(itemSQL, [truth, apps]).rows.compactMap { $0["d"] }
            let tables = try AppTableOracle.differences(connection, truth: truth, apps: apps)
            return Array((items + tables).prefix(limit))
        }
    }

    /// The item checks, sorted, at most 20 lines. The line formats are matched by some tests
    /// (`differs <item>: revision … title …`). Both sides are narrowed to the compared values
    /// before they meet, and meet in one full join (a hash or merge join, whatever the planner
    /// guesses of the fresh tables' sizes): wide truth rows rescanned in a nested loop took
    /// seconds for two thousand items.
    static let itemSQL = """
        WITH truth AS MATERIALIZED (
            SELECT (i->>'item_id')::bigint AS item_id,
                   coalesce((i->'current_revision'->>'revision')::int, (i->>'revision')::int) AS revision,
                   i->>'title' AS title
            FROM jsonb_array_elements($1::jsonb -> 'apps') a, jsonb_array_elements(a -> 'items') i
            WHERE (a->>'app_id')::bigint = ANY ($2::bigint[])
        ), mirror AS MATERIALIZED (
            SELECT item_id, revision, title FROM podio.items WHERE app_id = ANY ($2::bigint[]) AND deleted_at IS NULL
        )
        SELECT CASE
                   WHEN m.item_id IS NULL THEN 'missing ' || t.item_id
                   WHEN t.item_id IS NULL THEN 'extra ' || m.item_id
                   ELSE 'differs ' || t.item_id || ': revision ' || m.revision || ' title ' || coalesce(m.title, 'NULL')
               END AS d
        FROM truth t FULL JOIN mirror m ON m.item_id = t.item_id
        WHERE m.item_id IS NULL OR t.item_id IS NULL
           OR m.revision <> t.revision OR m.title IS DISTINCT FROM t.title
        UNION ALL
        SELECT 'deleted in podio but live ' || d FROM jsonb_array_elements_text($1::jsonb -> 'deleted_item_ids') d
        WHERE EXISTS (SELECT 1 FROM podio.items WHERE item_id = d::bigint AND deleted_at IS NULL)
        ORDER BY 1 LIMIT 20
        """
}
