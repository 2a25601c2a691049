import LibPQ

/// The comparison of a mirror with the simulator's ground truth, shared by the engine and the
/// CLI tests.
public enum MirrorComparison {
    /// Differences between the mirror and the truth (`GET /_sim/truth`) for the given apps:
    /// missing or extra live items, items whose revision or title differ, typed values (of active
    /// fields) that differ or are stored twice, and deleted items the mirror still shows live.
    /// References to items deleted since are not compared: Podio drops them without a new
    /// revision of the referencing item, and the mirror sees that when the item is next read.
    /// Values of app references and contacts compare by id only: Podio embeds the referenced
    /// item's current title without a new revision. Empty means equal; at most 20 lines.
    public static func differences(_ db: PGConnection, truth: String, apps: [Int]) throws -> [String] {
        try db.query(sql, [truth, apps]).rows.compactMap { $0["d"] }
    }

    static let sql = """
        WITH truth AS (
            SELECT (a->>'app_id')::bigint AS app_id, (i->>'item_id')::bigint AS item_id, i
            FROM jsonb_array_elements($1::jsonb -> 'apps') a, jsonb_array_elements(a -> 'items') i
            WHERE (a->>'app_id')::bigint = ANY ($2::bigint[])
        ), mirror AS (
            SELECT * FROM podio.items WHERE app_id = ANY ($2::bigint[]) AND deleted_at IS NULL
        ), active AS (
            SELECT field_id FROM podio.app_fields WHERE status = 'active'
        ), truth_values AS (
            SELECT t.item_id, (f->>'field_id')::bigint AS field_id,
                   CASE WHEN f->>'type' = 'app' THEN 0 ELSE (v.pos - 1)::int END AS position,
                   CASE WHEN f->>'type' IN ('app', 'contact') THEN NULL ELSE podio.value_text(f->>'type', v.val) END AS t,
                   podio.value_number(f->>'type', v.val) AS n, podio.value_ref(f->>'type', v.val) AS r,
                   podio.value_start(f->>'type', v.val) AS s, podio.value_end(f->>'type', v.val) AS e,
                   podio.value_start_date(f->>'type', v.val) AS d, podio.value_kind(f->>'type', v.val) AS k
            FROM truth t, jsonb_array_elements(t.i->'fields') f,
                 jsonb_array_elements(f->'values') WITH ORDINALITY v(val, pos)
            WHERE (f->>'field_id')::bigint IN (SELECT field_id FROM active)
        ), mirror_values AS (
            SELECT v.item_id, v.field_id, CASE WHEN v.type = 'app' THEN 0 ELSE v.position END,
                   CASE WHEN v.type IN ('app', 'contact') THEN NULL ELSE v.value_text END, v.value_number,
                   v.value_ref, v.value_start, v.value_end, v.value_start_date, v.value_kind
            FROM podio.item_values v JOIN mirror m USING (item_id)
            WHERE v.field_id IN (SELECT field_id FROM active)
              -- Podio drops a reference to a deleted item without a new revision of the
              -- referencing item; the mirror sees that when the item is next read.
              AND NOT (v.type = 'app' AND v.value_ref IN (SELECT item_id FROM podio.items WHERE deleted_at IS NOT NULL))
        )
        SELECT 'missing ' || t.item_id AS d FROM truth t LEFT JOIN mirror m USING (item_id) WHERE m.item_id IS NULL
        UNION ALL
        SELECT 'extra ' || m.item_id FROM mirror m LEFT JOIN truth t USING (item_id) WHERE t.item_id IS NULL
        UNION ALL
        SELECT 'differs ' || t.item_id || ': revision ' || m.revision || ' title ' || coalesce(m.title, 'NULL')
        FROM truth t JOIN mirror m USING (item_id)
        WHERE m.revision <> coalesce((t.i->'current_revision'->>'revision')::int, (t.i->>'revision')::int)
           OR m.title IS DISTINCT FROM t.i->>'title'
        UNION ALL
        SELECT 'value of item ' || item_id || ' field ' || field_id || ' in ' || side || ' only: ' || x::text
        FROM ((SELECT 'podio' AS side, * FROM (SELECT * FROM truth_values EXCEPT SELECT * FROM mirror_values) a)
              UNION ALL (SELECT 'mirror', * FROM (SELECT * FROM mirror_values EXCEPT SELECT * FROM truth_values) b)) x
        UNION ALL
        SELECT 'deleted in podio but live ' || d FROM jsonb_array_elements_text($1::jsonb -> 'deleted_item_ids') d
        WHERE EXISTS (SELECT 1 FROM podio.items WHERE item_id = d::bigint AND deleted_at IS NULL)
        UNION ALL
        SELECT 'values of item ' || item_id || ' field ' || field_id || ' count ' || count(*) || ' vs ' || count(DISTINCT position)
        FROM podio.item_values WHERE app_id = ANY ($2::bigint[]) GROUP BY item_id, field_id
        HAVING count(*) <> count(DISTINCT position)
        ORDER BY 1 LIMIT 20
        """
}
