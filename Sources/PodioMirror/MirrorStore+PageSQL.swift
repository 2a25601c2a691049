/// The SQL that writes one page of items. Kept in one place so the statements can be read
/// together: they run in order inside one transaction (see `MirrorStore.writePage`).
enum PageSQL {
    /// Stages the page: one row per item of `$1::jsonb -> 'items'`, core columns extracted.
    /// Fails (and with it the page) when the page has no `items` array or an item has no id.
    static let stage = """
        CREATE TEMP TABLE pm_page ON COMMIT DROP AS
        SELECT ord::int AS ord,
               (e->>'item_id')::bigint AS item_id,
               podio.to_bigint(e->>'app_item_id') AS app_item_id,
               e->>'title' AS title,
               COALESCE(podio.to_bigint(e->'current_revision'->>'revision'), podio.to_bigint(e->>'revision'), 0)::int AS revision,
               podio.to_utc(e->>'created_on') AS created_on,
               podio.to_utc(e->'current_revision'->>'created_on') AS last_edit_on,
               podio.to_utc(e->>'last_event_on') AS last_event_on,
               podio.to_bigint(e->>'comment_count')::int AS comment_count,
               podio.to_bigint(e->>'file_count')::int AS file_count,
               e AS raw
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof($1::jsonb -> 'items') = 'array' THEN $1::jsonb -> 'items'
                                       ELSE podio.page_without_items() END) WITH ORDINALITY AS t(e, ord)
        """

    /// Statistics for the staged page, so the planner does not guess (and JIT-compile) wildly.
    static let analyze = "ANALYZE pm_page"

    /// Items whose revision did not move but whose activity (comments, files) did: only the
    /// activity columns are written (the app table's `last_event_on` follows, see AppTableStore).
    static let refreshActivity = """
        UPDATE podio.items AS i
        SET last_event_on = p.last_event_on, comment_count = p.comment_count, file_count = p.file_count
        FROM (SELECT DISTINCT ON (item_id) * FROM pm_page ORDER BY item_id, ord DESC) AS p
        WHERE i.item_id = p.item_id AND i.revision = p.revision AND i.deleted_at IS NULL AND i.app_id = $1
          AND (i.last_event_on IS DISTINCT FROM p.last_event_on OR i.comment_count IS DISTINCT FROM p.comment_count
               OR i.file_count IS DISTINCT FROM p.file_count)
        RETURNING i.item_id
        """

    /// Inserts new items and rewrites those whose revision differs (or that come back from the
    /// dead); the comparison happens here, not by reading rows first. Records what changed.
    static let upsertItems = """
        CREATE TEMP TABLE pm_changed ON COMMIT DROP AS
        WITH up AS (
            INSERT INTO podio.items AS i (item_id, app_id, app_item_id, title, revision, created_on, last_edit_on,
                                         last_event_on, comment_count, file_count, raw, deleted_at, synced_at, run_id)
            SELECT DISTINCT ON (item_id) item_id, $1, app_item_id, title, revision, created_on, last_edit_on,
                   last_event_on, comment_count, file_count, raw, NULL, now(), $2
            FROM pm_page ORDER BY item_id, ord DESC
            ON CONFLICT (item_id) DO UPDATE SET
                app_id = EXCLUDED.app_id, app_item_id = EXCLUDED.app_item_id, title = EXCLUDED.title,
                revision = EXCLUDED.revision, created_on = EXCLUDED.created_on, last_edit_on = EXCLUDED.last_edit_on,
                last_event_on = EXCLUDED.last_event_on, comment_count = EXCLUDED.comment_count,
                file_count = EXCLUDED.file_count, raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now(),
                run_id = EXCLUDED.run_id
            WHERE i.revision IS DISTINCT FROM EXCLUDED.revision OR i.deleted_at IS NOT NULL OR i.app_id <> EXCLUDED.app_id
            RETURNING i.item_id, (xmax = 0) AS inserted
        )
        SELECT item_id, inserted FROM up
        """

    /// Statistics for the changed items, so the app table's upsert is planned from real counts.
    static let analyzeChanged = "ANALYZE pm_changed"

    /// Changed items without a title (the key missing, null or empty).
    static let untitledItems = """
        SELECT DISTINCT p.item_id FROM pm_page AS p JOIN pm_changed AS c ON c.item_id = p.item_id
        WHERE coalesce(p.title, '') = '' ORDER BY p.item_id
        """

    /// Counts of the page: seen, inserted, updated, activity-only, newest edit time.
    static let summary = """
        SELECT (SELECT count(DISTINCT item_id) FROM pm_page) AS seen,
               (SELECT count(*) FROM pm_changed WHERE inserted) AS inserted,
               (SELECT count(*) FROM pm_changed WHERE NOT inserted) AS updated,
               (SELECT max(last_edit_on) FROM pm_page) AS newest_edit,
               (SELECT max(item_id) FROM pm_page) AS last_item_id
        """

    /// A full pass remembers every id it saw (so deletion detection survives a resume).
    static let rememberSeen = """
        INSERT INTO podio.full_pass_seen (app_id, item_id) SELECT DISTINCT $1::bigint, item_id FROM pm_page
        ON CONFLICT DO NOTHING
        """
}
