/// The statements of the comments (`podio.comments`, `podio.comment_reads`). An item's comments
/// are read again only when its `comment_count` or `last_event_on` (as the last item read left
/// them in `podio.items`) moved since the mirror last read them; an item that never had a
/// comment is never read.
enum CommentSQL {
    /// "Comments pending", the one definition: item `i` (`podio.items`) has comments and the
    /// mirror has not read them as they are now: no read recorded (`r`, the item's row of
    /// `podio.comment_reads`, LEFT JOINed) or its `comment_count` or `last_event_on` moved since.
    static let awaitingRead = "(coalesce(i.comment_count, 0) > 0 AND \(movedSinceRead))"

    /// Item `i` was never read, or its comment count or last activity moved since its read `r`.
    static let movedSinceRead = """
        (r.item_id IS NULL OR r.comment_count IS DISTINCT FROM i.comment_count
         OR r.last_event_on IS DISTINCT FROM i.last_event_on)
        """

    /// Live items of an app whose comments are pending, and those read before whose count fell
    /// to zero since (settled without a call), but for those whose last read failed and whose
    /// next try is after `$2` (`podio.extra_failures`).
    static let pending = """
        SELECT i.item_id, coalesce(i.comment_count, 0) AS comment_count
        FROM podio.items AS i LEFT JOIN podio.comment_reads AS r ON r.item_id = i.item_id
        WHERE i.app_id = $1 AND i.deleted_at IS NULL
          AND (\(awaitingRead) OR (r.item_id IS NOT NULL AND \(movedSinceRead)))
          AND \(ExtraFailureSQL.due(kind: "comments", objectColumn: "i.item_id", nowParameter: "$2"))
        ORDER BY i.item_id
        """

    /// How many live items, in all apps, wait for a read of their comments.
    static let pendingCount = """
        SELECT count(*) AS n
        FROM podio.items AS i LEFT JOIN podio.comment_reads AS r ON r.item_id = i.item_id
        WHERE i.deleted_at IS NULL AND \(awaitingRead)
        """

    /// Items among `$1` that Podio says have no comment (any more): their stored comments are
    /// marked deleted and the read recorded, without a call.
    static let settleWithoutCall = """
        WITH z AS (
            SELECT item_id, comment_count, last_event_on FROM podio.items
            WHERE item_id = ANY ($1::bigint[]) AND coalesce(comment_count, 0) = 0
        ), gone AS (
            UPDATE podio.comments AS c SET deleted_at = now()
            FROM z WHERE c.item_id = z.item_id AND c.deleted_at IS NULL
            RETURNING 1
        ), reads AS (
            INSERT INTO podio.comment_reads (item_id, comment_count, last_event_on, read_at)
            SELECT item_id, comment_count, last_event_on, now() FROM z
            ON CONFLICT (item_id) DO UPDATE SET comment_count = EXCLUDED.comment_count,
                last_event_on = EXCLUDED.last_event_on, read_at = now()
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM gone) AS deleted, (SELECT count(*) FROM reads) AS settled
        """

    /// Writes what Podio listed for item `$1` of app `$2`: `$3` is a JSON array of the answers
    /// (each an array of comments). New comments are added and changed ones rewritten; when the
    /// read was complete (`$4`: it saw at least the item's `comment_count`), comments no longer
    /// listed are marked deleted and the item's activity is recorded as read. An incomplete read
    /// only adds: it never marks a comment deleted, and the item stays pending.
    static let write = """
        WITH incoming AS (
            SELECT DISTINCT ON (comment_id) comment_id, e
            FROM (SELECT podio.to_bigint(e->>'comment_id') AS comment_id, e
                  FROM jsonb_array_elements($3::jsonb) AS p(page)
                  CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(p.page) = 'array' THEN p.page
                                                              ELSE '[]'::jsonb END) AS e) AS x
            WHERE comment_id IS NOT NULL
            ORDER BY comment_id
        ), up AS (
            INSERT INTO podio.comments AS c (comment_id, item_id, app_id, created_by_type, created_by_id, created_by_name,
                                            created_on, edited_on, value, rich_value, raw, deleted_at, synced_at)
            SELECT comment_id, $1, $2, e->'created_by'->>'type', podio.to_bigint(e->'created_by'->>'id'),
                   e->'created_by'->>'name', podio.to_utc(e->>'created_on'), podio.to_utc(e->>'last_edit_on'),
                   e->>'value', e->>'rich_value', e, NULL, now()
            FROM incoming
            ON CONFLICT (comment_id) DO UPDATE SET
                item_id = EXCLUDED.item_id, app_id = EXCLUDED.app_id, created_by_type = EXCLUDED.created_by_type,
                created_by_id = EXCLUDED.created_by_id, created_by_name = EXCLUDED.created_by_name,
                created_on = EXCLUDED.created_on,
                edited_on = CASE WHEN EXCLUDED.edited_on IS NOT NULL THEN EXCLUDED.edited_on
                                 WHEN (c.value, c.rich_value) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.rich_value) THEN now()
                                 ELSE c.edited_on END,
                value = EXCLUDED.value, rich_value = EXCLUDED.rich_value, raw = EXCLUDED.raw, deleted_at = NULL,
                synced_at = now()
            WHERE c.raw IS DISTINCT FROM EXCLUDED.raw OR c.deleted_at IS NOT NULL OR c.item_id <> EXCLUDED.item_id
            RETURNING (xmax = 0) AS inserted
        ), gone AS (
            UPDATE podio.comments AS c SET deleted_at = now()
            WHERE $4::boolean AND c.item_id = $1 AND c.deleted_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.comment_id = c.comment_id)
            RETURNING 1
        ), reads AS (
            INSERT INTO podio.comment_reads (item_id, comment_count, last_event_on, read_at)
            SELECT item_id, comment_count, last_event_on, now() FROM podio.items WHERE item_id = $1 AND $4::boolean
            ON CONFLICT (item_id) DO UPDATE SET comment_count = EXCLUDED.comment_count,
                last_event_on = EXCLUDED.last_event_on, read_at = now()
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM up WHERE inserted) AS added, (SELECT count(*) FROM up WHERE NOT inserted) AS changed,
               (SELECT count(*) FROM gone) AS deleted
        """
}
