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
    /// activity columns are written.
    static let refreshActivity = """
        UPDATE podio.items AS i
        SET last_event_on = p.last_event_on, comment_count = p.comment_count, file_count = p.file_count
        FROM pm_page AS p
        WHERE i.item_id = p.item_id AND i.revision = p.revision AND i.deleted_at IS NULL AND i.app_id = $1
          AND (i.last_event_on IS DISTINCT FROM p.last_event_on OR i.comment_count IS DISTINCT FROM p.comment_count
               OR i.file_count IS DISTINCT FROM p.file_count)
        """

    /// Inserts new items and rewrites those whose revision differs (or that come back from the
    /// dead); the comparison happens here, not by reading rows first. Records what changed.
    static let upsertItems = upsertItems(title: "title")

    /// `upsertItems` with titles longer than `maxIndexedBytes` left NULL (see `cappedTitles`).
    static let upsertItemsCapped = upsertItems(title: "CASE WHEN octet_length(title) <= \(maxIndexedBytes) THEN title END")

    private static func upsertItems(title: String) -> String {
        """
        CREATE TEMP TABLE pm_changed ON COMMIT DROP AS
        WITH up AS (
            INSERT INTO podio.items AS i (item_id, app_id, app_item_id, title, revision, created_on, last_edit_on,
                                         last_event_on, comment_count, file_count, raw, deleted_at, synced_at, run_id)
            SELECT DISTINCT ON (item_id) item_id, $1, app_item_id, \(title), revision, created_on, last_edit_on,
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
    }

    /// Statistics for the changed items: without them the planner assumes 2,200 rows and
    /// answers the statements below with full scans of `podio.item_values`, a cost per page that
    /// grows with the mirror (quadratic over a full load).
    static let analyzeChanged = "ANALYZE pm_changed"

    /// The normalized values of changed items are replaced. Items this page inserted have no
    /// values yet (values reference their item), so only rewritten items are looked up.
    static let deleteValues = """
        DELETE FROM podio.item_values AS v USING pm_changed AS c WHERE v.item_id = c.item_id AND NOT c.inserted
        """

    /// One row per value, typed by the field's type (`podio.value_*` in schema.sql decide how).
    static let insertValues = insertValues(text: "podio.value_text(ftype, v.val)")

    /// `insertValues` with texts longer than `maxIndexedBytes` left NULL (see `cappedValues`).
    static let insertValuesCapped = insertValues(
        text: "CASE WHEN octet_length(podio.value_text(ftype, v.val)) <= \(maxIndexedBytes) THEN podio.value_text(ftype, v.val) END")

    private static func insertValues(text: String) -> String {
        """
        INSERT INTO podio.item_values (item_id, field_id, app_id, position, type, value_text, value_number, value_ref,
                                       value_start, value_end, value_start_date, value_end_date, value_kind, value)
        SELECT p.item_id, fid, $1, (v.pos - 1)::int, ftype,
               \(text), podio.value_number(ftype, v.val), podio.value_ref(ftype, v.val),
               podio.value_start(ftype, v.val), podio.value_end(ftype, v.val),
               podio.value_start_date(ftype, v.val), podio.value_end_date(ftype, v.val),
               podio.value_kind(ftype, v.val), v.val
        FROM (SELECT DISTINCT ON (item_id) * FROM pm_page ORDER BY item_id, ord DESC) AS p
        JOIN pm_changed AS c ON c.item_id = p.item_id
        CROSS JOIN LATERAL jsonb_array_elements(podio.json_array(p.raw -> 'fields')) AS f(field)
        CROSS JOIN LATERAL (SELECT podio.to_bigint(f.field ->> 'field_id') AS fid,
                                   COALESCE(f.field ->> 'type', 'unknown') AS ftype) AS meta
        CROSS JOIN LATERAL jsonb_array_elements(podio.json_array(f.field -> 'values')) WITH ORDINALITY AS v(val, pos)
        WHERE meta.fid IS NOT NULL
        ON CONFLICT (item_id, field_id, position) DO NOTHING
        """
    }

    // MARK: - Texts too large for an index

    /// A btree index entry holds at most 2,704 bytes after compression; texts up to this many
    /// bytes always fit. Longer ones usually compress enough; an incompressible one (a pasted
    /// document, an inline image) makes PostgreSQL refuse the whole statement (SQLSTATE 54000).
    /// Then the page is written again with long texts left out, and each is put back on its own.
    static let maxIndexedBytes = 2_000

    /// Changed items whose title `upsertItemsCapped` left out.
    static let cappedTitles = """
        SELECT p.item_id FROM (SELECT DISTINCT ON (item_id) item_id, title FROM pm_page ORDER BY item_id, ord DESC) AS p
        JOIN pm_changed AS c ON c.item_id = p.item_id
        WHERE octet_length(p.title) > \(maxIndexedBytes)
        """

    static let restoreTitle = """
        UPDATE podio.items SET title = (SELECT title FROM pm_page WHERE item_id = $1 ORDER BY ord DESC LIMIT 1)
        WHERE item_id = $1
        """

    /// Values of changed items whose text `insertValuesCapped` left out.
    static let cappedValues = """
        SELECT v.item_id, v.field_id, v.position, v.type FROM podio.item_values AS v JOIN pm_changed AS c ON c.item_id = v.item_id
        WHERE v.value_text IS NULL AND octet_length(podio.value_text(v.type, v.value)) > \(maxIndexedBytes)
        ORDER BY v.item_id, v.field_id, v.position
        """

    static let restoreValueText = """
        UPDATE podio.item_values SET value_text = podio.value_text(type, value)
        WHERE item_id = $1 AND field_id = $2 AND position = $3
        """

    /// Values of changed items that the typed columns could not read (shape or type unknown):
    /// the raw JSON keeps them; the engine warns once per item. The values are looked up item by
    /// item (the OFFSET 0 keeps the planner from turning the lookup into a scan of the whole
    /// table when `podio.item_values` has no statistics yet, as during a first load).
    static let unreadableValues = """
        SELECT v.item_id, v.field_id, v.type
        FROM pm_changed AS c
        CROSS JOIN LATERAL (SELECT * FROM podio.item_values AS v WHERE v.item_id = c.item_id OFFSET 0) AS v
        WHERE podio.value_is_unreadable(v.type, v.value, v.value_text, v.value_number, v.value_ref, v.value_start,
                                        v.value_start_date)
        ORDER BY v.item_id, v.field_id
        """

    /// Changed items without a title (the key missing, null or empty).
    static let untitledItems = """
        SELECT DISTINCT p.item_id FROM pm_page AS p JOIN pm_changed AS c ON c.item_id = p.item_id
        WHERE coalesce(p.title, '') = '' ORDER BY p.item_id
        """

    /// Field ids the changed items carry that the app's definition does not know.
    /// Looked up item by item, like `unreadableValues`.
    static let unknownFields = """
        SELECT DISTINCT v.field_id
        FROM pm_changed AS c
        CROSS JOIN LATERAL (SELECT v.field_id FROM podio.item_values AS v WHERE v.item_id = c.item_id OFFSET 0) AS v
        WHERE NOT EXISTS (SELECT 1 FROM podio.app_fields AS f WHERE f.field_id = v.field_id AND f.app_id = $1)
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
