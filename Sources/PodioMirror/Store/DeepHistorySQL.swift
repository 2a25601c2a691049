/// The statements of deep history (`podio.item_revisions`, `podio.item_field_changes`,
/// `podio.item_revision_reads`). An item's revisions are listed again only when its revision in
/// `podio.items` moved since they were last listed; each revision's diff is read once.
enum DeepHistorySQL {
    /// The columns of `podio.item_revisions` after `revision` and `app_id`, from a revision `e`
    /// in Podio's shape.
    static let revisionColumns =
        "item_revision_id, type, created_on, created_by_type, created_by_id, created_by_name, app_revision, raw"
    static let revisionValues = """
        podio.to_bigint(e->>'item_revision_id'), e->>'type', podio.to_utc(e->>'created_on'),
        e->'created_by'->>'type', podio.to_bigint(e->'created_by'->>'id'), e->'created_by'->>'name',
        podio.to_bigint(e->>'app_revision'), e
        """

    /// Items never edited (revision 0) whose revisions were never listed: their one revision is
    /// their `initial_revision`, already in `podio.items.raw`, so it is written without a call.
    static let settleInitial = """
        WITH z AS (
            SELECT i.item_id, i.app_id, i.raw->'initial_revision' AS e
            FROM podio.items AS i LEFT JOIN podio.item_revision_reads AS r ON r.item_id = i.item_id
            WHERE i.app_id = ANY ($1::bigint[]) AND i.deleted_at IS NULL AND i.revision = 0 AND r.item_id IS NULL
              AND jsonb_typeof(i.raw->'initial_revision') = 'object' AND i.raw->'initial_revision'->>'revision' = '0'
        ), up AS (
            INSERT INTO podio.item_revisions (item_id, revision, app_id, \(revisionColumns))
            SELECT item_id, 0, app_id, \(revisionValues) FROM z
            ON CONFLICT (item_id, revision) DO NOTHING
            RETURNING 1
        ), reads AS (
            INSERT INTO podio.item_revision_reads (item_id, revision, read_at) SELECT item_id, 0, now() FROM z
            ON CONFLICT (item_id) DO UPDATE SET revision = 0, read_at = now()
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM up) AS added, (SELECT count(*) FROM reads) AS settled
        """

    /// Live items of the apps `$1` whose revisions must be listed, or whose diffs are not all
    /// read, with the calls each needs: the list (when its revision moved) and one per diff,
    /// counted from the item's revision when the list is still to read.
    static let pending = """
        SELECT i.item_id, i.app_id, i.revision, (r.item_id IS NULL OR r.revision <> i.revision) AS needs_list,
               CASE WHEN r.item_id IS NULL AND i.revision = 0 AND jsonb_typeof(i.raw->'initial_revision') = 'object' THEN 0
                    WHEN r.item_id IS NULL OR r.revision <> i.revision
                    THEN 1 + greatest(0, i.revision - (SELECT count(*) FROM podio.item_revisions v
                                                       WHERE v.item_id = i.item_id AND v.revision BETWEEN 1 AND i.revision
                                                         AND v.diff_read_at IS NOT NULL))
                    ELSE (SELECT count(*) FROM podio.item_revisions v
                          WHERE v.item_id = i.item_id AND v.revision > 0 AND v.diff_read_at IS NULL) END AS calls
        FROM podio.items AS i LEFT JOIN podio.item_revision_reads AS r ON r.item_id = i.item_id
        WHERE i.app_id = ANY ($1::bigint[]) AND i.deleted_at IS NULL
          AND (r.item_id IS NULL OR r.revision <> i.revision
               OR EXISTS (SELECT 1 FROM podio.item_revisions v WHERE v.item_id = i.item_id AND v.revision > 0 AND v.diff_read_at IS NULL))
        """

    /// Writes the list of revisions of item `$1` (app `$2`) as Podio sent it (`$3`, a JSON
    /// array) and records it read at the item's revision `$4`.
    static let writeList = """
        WITH incoming AS (
            SELECT DISTINCT ON (rev) rev, e
            FROM (SELECT CASE WHEN e->>'revision' ~ '^[0-9]{1,9}$' THEN (e->>'revision')::int END AS rev, e
                  FROM jsonb_array_elements(CASE WHEN jsonb_typeof($3::jsonb) = 'array' THEN $3::jsonb ELSE '[]'::jsonb END) AS e) AS x
            WHERE rev IS NOT NULL
            ORDER BY rev
        ), up AS (
            INSERT INTO podio.item_revisions AS r (item_id, revision, app_id, \(revisionColumns), synced_at)
            SELECT $1, rev, $2, \(revisionValues), now()
            FROM incoming
            ON CONFLICT (item_id, revision) DO UPDATE SET
                app_id = EXCLUDED.app_id, item_revision_id = EXCLUDED.item_revision_id, type = EXCLUDED.type,
                created_on = EXCLUDED.created_on, created_by_type = EXCLUDED.created_by_type,
                created_by_id = EXCLUDED.created_by_id, created_by_name = EXCLUDED.created_by_name,
                app_revision = EXCLUDED.app_revision, raw = EXCLUDED.raw, synced_at = now()
            WHERE r.raw IS DISTINCT FROM EXCLUDED.raw
            RETURNING (xmax = 0) AS inserted
        ), reads AS (
            INSERT INTO podio.item_revision_reads (item_id, revision, read_at) VALUES ($1, $4, now())
            ON CONFLICT (item_id) DO UPDATE SET revision = EXCLUDED.revision, read_at = now()
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM up WHERE inserted) AS added, (SELECT count(*) FROM reads) AS recorded
        """

    /// The revisions of item `$1` whose diff is still to read, oldest first.
    static let diffsToRead = """
        SELECT revision FROM podio.item_revisions WHERE item_id = $1 AND revision > 0 AND diff_read_at IS NULL ORDER BY revision
        """

    /// Stores the diff from revision `$2` - 1 to `$2` of item `$1` (`$3`, as received; NULL when
    /// Podio no longer serves it).
    static let writeDiff = """
        UPDATE podio.item_revisions SET diff = $3::jsonb, diff_read_at = now() WHERE item_id = $1 AND revision = $2
        RETURNING app_id
        """

    static let clearChanges = "DELETE FROM podio.item_field_changes WHERE item_id = $1 AND revision = $2"

    /// One row per field of the diff just stored.
    static let writeChanges = """
        INSERT INTO podio.item_field_changes (item_id, revision, field_id, app_id, external_id, type, label, changed_on,
                                              from_values, to_values)
        SELECT DISTINCT ON (field_id) r.item_id, r.revision, field_id, r.app_id, e->>'external_id', e->>'type', e->>'label',
               r.created_on,
               CASE WHEN jsonb_typeof(e->'from') = 'array' THEN e->'from' ELSE '[]'::jsonb END,
               CASE WHEN jsonb_typeof(e->'to') = 'array' THEN e->'to' ELSE '[]'::jsonb END
        FROM podio.item_revisions AS r
        CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(r.diff) = 'array' THEN r.diff ELSE '[]'::jsonb END) AS e
        CROSS JOIN LATERAL (SELECT podio.to_bigint(e->>'field_id') AS field_id) AS f
        WHERE r.item_id = $1 AND r.revision = $2 AND f.field_id IS NOT NULL
        ORDER BY field_id
        ON CONFLICT (item_id, revision, field_id) DO UPDATE SET
            app_id = EXCLUDED.app_id, external_id = EXCLUDED.external_id, type = EXCLUDED.type, label = EXCLUDED.label,
            changed_on = EXCLUDED.changed_on, from_values = EXCLUDED.from_values, to_values = EXCLUDED.to_values
        """
}
