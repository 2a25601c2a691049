/// `podio.profiles` from the items' own JSON, no call to Podio: the profiles of contact field
/// values (`profile_id`, `user_id`, name, mail, …) and the users of the items' bylines
/// (`created_by`, `current_revision.created_by` of type `user`, which carry the user id only).
/// The statements run in order, in the page's transaction, over a source of `(raw jsonb,
/// edited timestamptz)` rows: the page's changed items, or every live item (the upgrade).
enum ProfileSQL {
    /// The page's changed items (`pm_page`, `pm_changed`: see `PageSQL`).
    static let pageSource = """
        SELECT p.raw, p.last_edit_on AS edited
        FROM pm_page AS p JOIN pm_changed AS c ON c.item_id = p.item_id
        """

    /// Every live item of the mirror (filling the table once, when the schema gains it).
    static let mirrorSource = "SELECT raw, last_edit_on AS edited FROM podio.items WHERE deleted_at IS NULL"

    /// The statements for `source`, in order.
    static func statements(source: String) -> [String] {
        let contacts = """
            WITH src AS (\(source)),
            contacts AS (
                SELECT DISTINCT ON (pid) pid, podio.to_bigint(v ->> 'user_id') AS uid, v ->> 'type' AS type,
                       v ->> 'name' AS name,
                       ARRAY(SELECT jsonb_array_elements_text(podio.json_array(v -> 'mail'))) AS mail,
                       ARRAY(SELECT jsonb_array_elements_text(podio.json_array(v -> 'phone'))) AS phone,
                       v ->> 'link' AS link, podio.to_bigint(v ->> 'avatar') AS avatar,
                       podio.to_bigint(v ->> 'org_id') AS org_id, podio.to_bigint(v ->> 'space_id') AS space_id,
                       v ->> 'external_id' AS external_id, podio.to_utc(v ->> 'last_seen_on') AS last_seen_on,
                       v AS raw, s.edited
                FROM src AS s
                CROSS JOIN LATERAL jsonb_array_elements(podio.json_array(s.raw -> 'fields')) AS f
                CROSS JOIN LATERAL jsonb_array_elements(podio.json_array(f -> 'values')) AS e
                CROSS JOIN LATERAL (SELECT e -> 'value' AS v, podio.to_bigint(e -> 'value' ->> 'profile_id') AS pid) AS x
                WHERE f ->> 'type' = 'contact' AND jsonb_typeof(v) = 'object' AND pid IS NOT NULL
                ORDER BY pid, s.edited DESC NULLS LAST
            )
            """
        let bylines = """
            WITH src AS (\(source)),
            bylines AS (
                SELECT DISTINCT ON (uid) uid, b ->> 'name' AS name, podio.to_bigint(b ->> 'avatar') AS avatar,
                       b ->> 'url' AS link, podio.to_utc(b ->> 'last_seen_on') AS last_seen_on, b AS raw, s.edited
                FROM src AS s
                CROSS JOIN LATERAL (VALUES (s.raw -> 'created_by'), (s.raw -> 'current_revision' -> 'created_by')) AS t(b)
                CROSS JOIN LATERAL (SELECT podio.to_bigint(b ->> 'id') AS uid) AS x
                WHERE jsonb_typeof(b) = 'object' AND b ->> 'type' = 'user' AND uid IS NOT NULL
                ORDER BY uid, s.edited DESC NULLS LAST
            )
            """
        return [
            // A user the bylines named first becomes the profile a contact value names.
            contacts + """
                UPDATE podio.profiles AS t SET profile_key = 'profile:' || c.pid, profile_id = c.pid
                FROM contacts AS c
                WHERE c.uid IS NOT NULL AND t.profile_key = 'user:' || c.uid
                  AND NOT EXISTS (SELECT 1 FROM podio.profiles AS x WHERE x.profile_key = 'profile:' || c.pid)
                """,
            // Contact values: written when new, or when an item as new as the row shows a change.
            contacts + """
                INSERT INTO podio.profiles AS t (profile_key, profile_id, user_id, type, name, mail, phone, link, avatar,
                                                 org_id, space_id, external_id, last_seen_on, raw, seen_on, updated_at)
                SELECT 'profile:' || pid, pid, uid, type, name, mail, phone, link, avatar, org_id, space_id, external_id,
                       last_seen_on, raw, edited, now()
                FROM contacts
                ON CONFLICT (profile_key) DO UPDATE SET
                    user_id = coalesce(EXCLUDED.user_id, t.user_id), type = EXCLUDED.type, name = EXCLUDED.name,
                    mail = EXCLUDED.mail, phone = EXCLUDED.phone, link = EXCLUDED.link, avatar = EXCLUDED.avatar,
                    org_id = EXCLUDED.org_id, space_id = EXCLUDED.space_id, external_id = EXCLUDED.external_id,
                    last_seen_on = EXCLUDED.last_seen_on, raw = EXCLUDED.raw,
                    seen_on = GREATEST(t.seen_on, EXCLUDED.seen_on), updated_at = now()
                WHERE t.raw IS DISTINCT FROM EXCLUDED.raw
                  AND (NOT (t.raw ? 'profile_id') OR t.seen_on IS NULL OR EXCLUDED.seen_on >= t.seen_on)
                """,
            // Bylines: the name (and avatar) of a known user follows; an unknown user is added.
            bylines + """
                , known AS (
                    UPDATE podio.profiles AS t SET name = b.name, avatar = coalesce(b.avatar, t.avatar),
                        link = coalesce(t.link, b.link), last_seen_on = coalesce(b.last_seen_on, t.last_seen_on),
                        raw = CASE WHEN t.raw ? 'profile_id' THEN t.raw ELSE b.raw END,
                        seen_on = GREATEST(t.seen_on, b.edited), updated_at = now()
                    FROM bylines AS b
                    WHERE t.user_id = b.uid AND (t.seen_on IS NULL OR b.edited >= t.seen_on)
                      AND (t.name IS DISTINCT FROM b.name OR (b.avatar IS NOT NULL AND t.avatar IS DISTINCT FROM b.avatar))
                    RETURNING 1
                )
                INSERT INTO podio.profiles (profile_key, user_id, type, name, avatar, link, last_seen_on, raw, seen_on)
                SELECT 'user:' || uid, uid, 'user', name, avatar, link, last_seen_on, raw, edited FROM bylines AS b
                WHERE NOT EXISTS (SELECT 1 FROM podio.profiles AS t WHERE t.user_id = b.uid)
                ON CONFLICT (profile_key) DO NOTHING
                """,
        ]
    }
}
