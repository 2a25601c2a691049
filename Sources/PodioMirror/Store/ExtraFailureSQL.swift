/// The statements of `podio.extra_failures`: what the extras could not read, per object.
enum ExtraFailureSQL {
    /// A failed attempt at object `$2` of kind `$1` (item `$3`, app `$4`), with the error `$5`,
    /// at `$6`: attempts + 1, the next try `$6` + the back-off the statement is given per
    /// attempt count (`$7`, seconds indexed by attempts - 1, the last repeated).
    static let fail = """
        INSERT INTO podio.extra_failures AS f (kind, object_id, item_id, app_id, attempts, last_error, first_failed_at,
                                               last_failed_at, next_try_at)
        VALUES ($1, $2, $3, $4, 1, $5, $6, $6, $6::timestamptz + make_interval(secs => ($7::float8[])[1]))
        ON CONFLICT (kind, object_id) DO UPDATE SET
            item_id = EXCLUDED.item_id, app_id = EXCLUDED.app_id, attempts = f.attempts + 1, last_error = EXCLUDED.last_error,
            last_failed_at = EXCLUDED.last_failed_at,
            next_try_at = EXCLUDED.last_failed_at
                + make_interval(secs => ($7::float8[])[least(f.attempts + 1, cardinality($7::float8[]))])
        RETURNING attempts, next_try_at
        """

    /// A file the mirror does not fetch (`$5` says why), recorded once: no attempt, no next try.
    static let skip = """
        INSERT INTO podio.extra_failures AS f (kind, object_id, item_id, app_id, attempts, last_error, first_failed_at,
                                               last_failed_at, next_try_at)
        VALUES ($1, $2, $3, $4, 0, $5, $6, $6, NULL)
        ON CONFLICT (kind, object_id) DO UPDATE SET
            item_id = EXCLUDED.item_id, app_id = EXCLUDED.app_id, attempts = 0, last_error = EXCLUDED.last_error,
            last_failed_at = EXCLUDED.last_failed_at, next_try_at = NULL
        WHERE f.last_error IS DISTINCT FROM EXCLUDED.last_error OR f.next_try_at IS NOT NULL
        """

    static let clear = "DELETE FROM podio.extra_failures WHERE kind = $1 AND object_id = $2"

    /// Rows whose object is still live in the mirror (a deleted item's or file's row is left,
    /// not shown), the longest failing first.
    static let live = """
        SELECT f.kind, f.object_id, f.item_id, f.app_id, f.attempts, f.last_error, f.first_failed_at, f.last_failed_at,
               f.next_try_at
        FROM podio.extra_failures AS f
        WHERE CASE WHEN f.kind = 'file' THEN EXISTS (SELECT 1 FROM podio.files x WHERE x.file_id = f.object_id AND x.deleted_at IS NULL)
                   ELSE EXISTS (SELECT 1 FROM podio.items x WHERE x.item_id = f.object_id AND x.deleted_at IS NULL) END
        ORDER BY f.first_failed_at, f.kind, f.object_id
        """

    /// `AND`-able condition: object `<id>` of kind `$kind` has no failure whose next try is after
    /// `$now` (a row without a next try is never due).
    static func due(kind: String, objectColumn: String, nowParameter: String) -> String {
        """
        NOT EXISTS (SELECT 1 FROM podio.extra_failures AS ef WHERE ef.kind = '\(kind)' AND ef.object_id = \(objectColumn)
                    AND (ef.next_try_at IS NULL OR ef.next_try_at > \(nowParameter)::timestamptz))
        """
    }
}
