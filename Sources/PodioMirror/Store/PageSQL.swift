/// The SQL that writes one page of items. Kept in one place so the statements can be read
/// together: they run in order inside one transaction (see `ItemStore.writePage`).
enum PageSQL {
    /// The staging table of the page: one row per item, written by `COPY` (`copyStage`, the
    /// rows from `PageItems.stageRow`, which reads the core columns in Swift).
    static let createStage = """
        CREATE TEMP TABLE pm_page (ord integer, item_id bigint, app_item_id bigint, title text, revision integer,
                                   created_on timestamptz, last_edit_on timestamptz, last_event_on timestamptz,
                                   comment_count integer, file_count integer, raw jsonb) ON COMMIT DROP
        """

    static let copyStage = "COPY pm_page FROM STDIN"

    /// The page staged by SQL alone: run only for a body Swift cannot read, so that the page
    /// fails with PostgreSQL's own error as it always did (no `items` array, JSON it refuses).
    static let stageInSQL = """
        SELECT count(*) FROM jsonb_array_elements(CASE WHEN jsonb_typeof($1::jsonb -> 'items') = 'array' THEN $1::jsonb -> 'items'
                                                      ELSE podio.page_without_items() END)
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

    /// Local history: before `upsertItems` overwrites them, the stored states of items whose
    /// revision the page moves are kept in `podio.item_versions` (the same transaction, no call).
    /// An item that only comes back from the dead with the same revision keeps no version.
    static let keepVersions = """
        INSERT INTO podio.item_versions (item_id, revision, app_id, title, last_edit_on, edited_by_type, edited_by_id,
                                         edited_by_name, raw, superseded_at, superseded_by, run_id)
        SELECT i.item_id, i.revision, i.app_id, i.title, i.last_edit_on,
               i.raw->'current_revision'->'created_by'->>'type',
               podio.to_bigint(i.raw->'current_revision'->'created_by'->>'id'),
               i.raw->'current_revision'->'created_by'->>'name',
               i.raw, now(), p.revision, $1
        FROM (SELECT DISTINCT ON (item_id) item_id, revision FROM pm_page ORDER BY item_id, ord DESC) AS p
        JOIN podio.items AS i ON i.item_id = p.item_id
        WHERE i.revision IS DISTINCT FROM p.revision
        ON CONFLICT (item_id, revision) DO NOTHING
        """

    /// Items of the page that the mirror holds under another app: they moved (Podio keeps an
    /// item's id when it moves it to another app). Their comments and files follow them now;
    /// `upsertItems` moves the items, and their rows leave the old apps' tables (the page's
    /// transaction, so no table ever shows an item twice). $1 the page's app.
    static let moveItems = """
        WITH moved AS (
            SELECT DISTINCT i.item_id, i.app_id AS from_app
            FROM pm_page AS p JOIN podio.items AS i ON i.item_id = p.item_id
            WHERE i.app_id <> $1
        ), comments AS (
            UPDATE podio.comments AS c SET app_id = $1 FROM moved AS m WHERE c.item_id = m.item_id RETURNING 1
        ), files AS (
            UPDATE podio.files AS f SET app_id = $1 FROM moved AS m WHERE f.item_id = m.item_id RETURNING 1
        )
        SELECT item_id, from_app FROM moved ORDER BY from_app, item_id
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

    /// File metadata: for the page's items that carry a `files` array, files are added or
    /// rewritten when they changed, and files no longer listed are marked deleted. Items without
    /// the key (a micro page, an answer without files) are left as they are.
    static let writeFiles = """
        WITH listed AS (
            SELECT DISTINCT ON (item_id) item_id, raw->'files' AS files
            FROM pm_page WHERE jsonb_typeof(raw->'files') = 'array' ORDER BY item_id, ord DESC
        ), incoming AS (
            SELECT DISTINCT ON (file_id) file_id, item_id, f
            FROM (SELECT podio.to_bigint(f->>'file_id') AS file_id, l.item_id, f
                  FROM listed AS l CROSS JOIN LATERAL jsonb_array_elements(l.files) AS f) AS x
            WHERE file_id IS NOT NULL ORDER BY file_id
        ), up AS (
            INSERT INTO podio.files AS t (file_id, item_id, app_id, name, mimetype, size, created_on, created_by_type,
                                         created_by_id, created_by_name, link, raw, deleted_at, synced_at)
            SELECT file_id, item_id, $1, f->>'name', f->>'mimetype', podio.to_bigint(f->>'size'), podio.to_utc(f->>'created_on'),
                   f->'created_by'->>'type', podio.to_bigint(f->'created_by'->>'id'), f->'created_by'->>'name', f->>'link',
                   f, NULL, now()
            FROM incoming
            ON CONFLICT (file_id) DO UPDATE SET
                item_id = EXCLUDED.item_id, app_id = EXCLUDED.app_id, name = EXCLUDED.name, mimetype = EXCLUDED.mimetype,
                size = EXCLUDED.size, created_on = EXCLUDED.created_on, created_by_type = EXCLUDED.created_by_type,
                created_by_id = EXCLUDED.created_by_id, created_by_name = EXCLUDED.created_by_name, link = EXCLUDED.link,
                raw = EXCLUDED.raw, deleted_at = NULL, synced_at = now()
            WHERE t.raw IS DISTINCT FROM EXCLUDED.raw OR t.deleted_at IS NOT NULL OR t.item_id <> EXCLUDED.item_id
            RETURNING 1
        ), gone AS (
            UPDATE podio.files AS t SET deleted_at = now()
            FROM listed AS l
            WHERE t.item_id = l.item_id AND t.deleted_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM incoming AS n WHERE n.file_id = t.file_id)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM up) AS written, (SELECT count(*) FROM gone) AS deleted
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

    /// Reconciliation of an app with active hooks: the changed items of the page that no hook
    /// delivered (edited from the second the hooks became active (Podio's times are whole
    /// seconds), before the grace for deliveries still
    /// on their way, and with no event of theirs waiting in the queue) are counted as missed.
    /// $1 app, $2 hooks active since, $3 edited before.
    static let countMissedByHooks = """
        WITH missed AS (
            SELECT count(DISTINCT c.item_id)::bigint AS n FROM pm_changed AS c JOIN pm_page AS p ON p.item_id = c.item_id
            WHERE p.last_edit_on >= date_trunc('second', $2::timestamptz) AND p.last_edit_on < $3
              AND NOT EXISTS (SELECT 1 FROM podio.hook_events AS e WHERE e.item_id = c.item_id AND e.applied_at IS NULL)
        ), up AS (
            UPDATE podio.sync_state SET hooks_missed = hooks_missed + (SELECT n FROM missed), hooks_missed_at = now()
            WHERE app_id = $1 AND (SELECT n FROM missed) > 0
            RETURNING 1
        )
        SELECT (SELECT n FROM missed) AS n
        """

    /// Items a hook event fetched: an answer older than what the mirror holds (a delta wrote a
    /// newer revision while the item read was on its way) is dropped, so events never move an
    /// item back.
    static let dropOlderRevisions = """
        DELETE FROM pm_page AS p USING podio.items AS i
        WHERE i.item_id = p.item_id AND i.deleted_at IS NULL AND i.revision > p.revision
        """

    /// A full pass remembers every id it saw (so deletion detection survives a resume).
    static let rememberSeen = """
        INSERT INTO podio.full_pass_seen (app_id, item_id) SELECT DISTINCT $1::bigint, item_id FROM pm_page
        ON CONFLICT DO NOTHING
        """
}
