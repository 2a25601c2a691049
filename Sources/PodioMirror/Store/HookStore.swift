import Foundation
import LibPQ

/// The webhooks: the secret and the verify window, the hooks as recorded, the event queue and
/// its locks, and the apps the hooks cover.
public struct HookStore: StoreSlice {
    public let db: PGConnection

    public init(db: PGConnection) {
        self.db = db
    }

    // MARK: - Secret

    /// The secret path segment, created from `candidate` the first time (never replaced after).
    public func hookSecret(creatingWith candidate: String? = nil) throws -> String? {
        if let candidate {
            try db.query(
                "INSERT INTO podio_auth.hook_secret (singleton, secret) VALUES (true, $1) ON CONFLICT DO NOTHING",
                [candidate])
        }
        return try db.query("SELECT secret FROM podio_auth.hook_secret").first?.string("secret")
    }

    /// Accepts `hook.verify` for hook ids not recorded yet until `until` (a running install).
    public func openVerifyWindow(until: Date?) throws {
        try db.query("UPDATE podio_auth.hook_secret SET verify_open_until = $1", [until])
    }

    /// Whether a `hook.verify` for an unknown hook id is accepted now.
    public func verifyWindowOpen(now: Date) throws -> Bool {
        try db.query("SELECT verify_open_until > $1 AS open FROM podio_auth.hook_secret", [now]).first?.bool("open")
            ?? false
    }

    // MARK: - Hooks

    public func recordHook(hookID: Int, appID: Int, type: String, url: String, status: String) throws {
        try db.query(
            """
            INSERT INTO podio.hooks (hook_id, app_id, type, url, status, checked_at) VALUES ($1, $2, $3, $4, $5, now())
            ON CONFLICT (hook_id) DO UPDATE SET app_id = $2, type = $3, url = $4, status = $5, checked_at = now(),
                verified_at = CASE WHEN $5 = 'active' THEN coalesce(podio.hooks.verified_at, now()) ELSE podio.hooks.verified_at END,
                verify_attempts = CASE WHEN $5 = 'active' THEN 0 ELSE podio.hooks.verify_attempts END,
                next_verify_at = CASE WHEN $5 = 'active' THEN NULL ELSE podio.hooks.next_verify_at END
            """, [hookID, appID, type, url, status])
    }

    public func hooks(appID: Int? = nil) throws -> [StoredHook] {
        try db.query(
            """
            SELECT hook_id, app_id, type, url, status, created_at, verify_requested_at, verified_at, checked_at, last_event_at,
                   last_error, verify_attempts, next_verify_at
            FROM podio.hooks WHERE $1::bigint IS NULL OR app_id = $1 ORDER BY app_id, type, hook_id
            """, [appID]
        ).rows.compactMap { row in
            guard let id = row.int("hook_id"), let app = row.int("app_id") else { return nil }
            return StoredHook(
                hookID: id, appID: app, type: row.string("type") ?? "", url: row.string("url") ?? "",
                status: row.string("status") ?? "",
                createdAt: row.date("created_at"), verifyRequestedAt: row.date("verify_requested_at"),
                verifiedAt: row.date("verified_at"),
                checkedAt: row.date("checked_at"), lastEventAt: row.date("last_event_at"),
                lastError: row.string("last_error"), verifyAttempts: row.int("verify_attempts") ?? 0,
                nextVerifyAt: row.date("next_verify_at"))
        }
    }

    public func deleteHookRecord(hookID: Int) throws {
        try db.query("DELETE FROM podio.hooks WHERE hook_id = $1", [hookID])
    }

    /// A verification was asked for (Podio sends `hook.verify`) and counted. `next`: the earliest
    /// time of the next request (the back-off); nil when the receiver had not answered its
    /// self-check, so the request made once it answers is not delayed.
    public func markVerifyRequested(hookID: Int, at now: Date, next: Date?) throws {
        try db.query(
            """
            UPDATE podio.hooks SET verify_requested_at = $2, last_error = NULL, verify_attempts = verify_attempts + 1,
                next_verify_at = $3
            WHERE hook_id = $1
            """, [hookID, now, next])
    }

    public func markHookVerified(hookID: Int) throws {
        // The first verification stays: changes while a hook was inactive count as missed.
        try db.query(
            """
            UPDATE podio.hooks SET status = 'active', verified_at = coalesce(verified_at, now()), last_error = NULL,
                verify_attempts = 0, next_verify_at = NULL
            WHERE hook_id = $1
            """,
            [hookID])
    }

    /// Hooks waiting for their verification, and the earliest end of their back-off (nil when
    /// one is due now or none waits).
    public func pendingVerifications() throws -> (count: Int, due: Date?) {
        let row = try db.query(
            """
            SELECT count(*) AS n, CASE WHEN bool_or(next_verify_at IS NULL) THEN NULL ELSE min(next_verify_at) END AS due
            FROM podio.hooks WHERE status <> 'active'
            """
        ).first
        return (row?.int("n") ?? 0, row?.date("due"))
    }

    public func markHookError(hookID: Int, _ message: String) throws {
        try db.query("UPDATE podio.hooks SET last_error = $2 WHERE hook_id = $1", [hookID, message])
    }

    /// Known hook ids and their apps (what the receiver accepts).
    public func hookApps() throws -> [Int: Int] {
        var out: [Int: Int] = [:]
        for row in try db.query("SELECT hook_id, app_id FROM podio.hooks").rows {
            if let id = row.int("hook_id"), let app = row.int("app_id") { out[id] = app }
        }
        return out
    }

    /// Apps with at least one active item hook, and since when (the first verification).
    public func appsWithActiveHooks() throws -> [Int: Date] {
        var out: [Int: Date] = [:]
        for row in try db.query(
            """
            SELECT app_id, min(coalesce(verified_at, created_at)) AS since FROM podio.hooks
            WHERE status = 'active' AND type LIKE 'item.%' GROUP BY app_id
            """
        ).rows {
            if let id = row.int("app_id"), let since = row.date("since") { out[id] = since }
        }
        return out
    }

    /// The apps among `apps` (nil: all) with active item hooks, and when each one's
    /// reconciliation (a delta) is due: its last delta or full pass plus `interval` (now when it
    /// has none).
    public func reconciliationsDue(interval: Double, apps: [Int]?) throws -> [Int: Date] {
        var out: [Int: Date] = [:]
        for row in try db.query(
            """
            SELECT h.app_id,
                   coalesce(greatest(s.last_delta_sync_at, s.last_full_sync_at) + make_interval(secs => $1), now()) AS due
            FROM (SELECT DISTINCT app_id FROM podio.hooks WHERE status = 'active' AND type LIKE 'item.%') AS h
            LEFT JOIN podio.sync_state s ON s.app_id = h.app_id
            WHERE $2::bigint[] IS NULL OR h.app_id = ANY ($2::bigint[])
            """, [interval, apps]
        ).rows {
            if let id = row.int("app_id"), let due = row.date("due") { out[id] = due }
        }
        return out
    }

    // MARK: - Events

    /// Queues an event (committed when this returns): its app is the hook's; for a delivery
    /// without hook_id (`hookID` 0), the app the mirror holds its item in, else the named app
    /// when the mirror has hooks on it.
    @discardableResult
    public func enqueueHookEvent(_ event: HookEvent) throws -> Int64 {
        let id = try db.query(
            """
            WITH e AS (
                INSERT INTO podio.hook_events (hook_id, app_id, type, item_id, item_revision_id, comment_id, external_id, code)
                VALUES ($1::bigint, CASE WHEN $1::bigint > 0 THEN (SELECT app_id FROM podio.hooks WHERE hook_id = $1)
                            ELSE coalesce(
                                (SELECT app_id FROM podio.items WHERE item_id = $3),
                                (SELECT app_id FROM podio.hooks WHERE app_id = $8::bigint LIMIT 1)) END,
                        $2::text, $3::bigint, $4, $5, $6, $7)
                RETURNING event_id, app_id
            ), h AS (
                -- A delivery without hook_id counts for the app's hook of its type.
                UPDATE podio.hooks SET last_event_at = now()
                WHERE hook_id = $1::bigint OR ($1::bigint = 0 AND type = $2::text AND app_id = (SELECT app_id FROM e))
                RETURNING 1
            )
            SELECT event_id FROM e
            """,
            [
                event.hookID, event.type, event.itemID, event.itemRevisionID, event.commentID, event.externalID,
                event.code, event.namedAppID,
            ]
        ).first?.int64("event_id")
        return id ?? 0
    }

    /// Pending `hook.verify` events of hook ids the mirror does not know (the install race).
    public func pendingUnknownVerifications() throws -> Int {
        try db.query(
            """
            SELECT count(*) AS n FROM podio.hook_events e WHERE e.applied_at IS NULL AND e.type = 'hook.verify'
              AND NOT EXISTS (SELECT 1 FROM podio.hooks h WHERE h.hook_id = e.hook_id)
            """
        ).first?.int("n") ?? 0
    }

    /// Events not applied yet, oldest first; the app is looked up again (a hook recorded after
    /// its verify event arrived).
    public func pendingHookEvents(limit: Int = 5000) throws -> [HookEvent] {
        try db.query(
            """
            SELECT e.event_id, e.hook_id,
                   coalesce(h.app_id, e.app_id,
                            CASE WHEN e.hook_id = 0 THEN (SELECT i.app_id FROM podio.items i WHERE i.item_id = e.item_id) END)
                       AS app_id, e.type, e.item_id, e.item_revision_id,
                   e.comment_id, e.external_id, e.code, e.received_at, e.attempts
            FROM podio.hook_events e LEFT JOIN podio.hooks h ON h.hook_id = e.hook_id
            WHERE e.applied_at IS NULL ORDER BY e.event_id LIMIT $1
            """, [limit]
        ).rows.compactMap { row in
            guard let id = row.int64("event_id"), let hook = row.int("hook_id"),
                let type = row.string("type").map(HookEventType.init(rawValue:))
            else {
                return nil
            }
            var event = HookEvent(
                hookID: hook, type: type, itemID: row.int("item_id"), itemRevisionID: row.int("item_revision_id"),
                commentID: row.int("comment_id"), externalID: row.string("external_id"), code: row.string("code"),
                appID: row.int("app_id"))
            event.eventID = id
            event.receivedAt = row.date("received_at")
            event.attempts = row.int("attempts") ?? 0
            return event
        }
    }

    /// Events a drain can act on: every pending one but a young `hook.verify` of a hook id not
    /// recorded yet (it waits for its install, without waking a drain every few seconds).
    public func pendingHookEventCount(unknownVerifyTTL: Double = 600) throws -> Int {
        try db.query(
            """
            SELECT count(*) AS n FROM podio.hook_events e WHERE e.applied_at IS NULL
              AND NOT (e.type = 'hook.verify' AND e.received_at > now() - make_interval(secs => $1)
                       AND NOT EXISTS (SELECT 1 FROM podio.hooks h WHERE h.hook_id = e.hook_id))
            """, [unknownVerifyTTL]
        ).first?.int("n") ?? 0
    }

    /// Marks events applied (the last step: a crash before it leaves them queued).
    public func markHookEventsApplied(_ ids: [Int64], error: String? = nil) throws {
        guard !ids.isEmpty else { return }
        try db.query(
            """
            UPDATE podio.hook_events SET applied_at = now(), code = NULL, last_error = coalesce($2, last_error)
            WHERE event_id = ANY ($1::bigint[])
            """,
            [ids, error])
    }

    /// Counts a failed attempt; after `maxAttempts` the event is set aside (applied, with its
    /// error: the next reconciliation covers it).
    public func markHookEventsFailed(_ ids: [Int64], error: String, maxAttempts: Int = 5) throws {
        guard !ids.isEmpty else { return }
        try db.query(
            """
            UPDATE podio.hook_events SET attempts = attempts + 1, last_error = $2,
                applied_at = CASE WHEN attempts + 1 >= $3 THEN now() END,
                code = CASE WHEN attempts + 1 >= $3 THEN NULL ELSE code END
            WHERE event_id = ANY ($1::bigint[])
            """, [ids, error, maxAttempts])
    }

    /// Forgets applied events older than `before`.
    public func pruneHookEvents(before: Date) throws {
        try db.query("DELETE FROM podio.hook_events WHERE applied_at IS NOT NULL AND applied_at < $1", [before])
    }

    /// The session lock of the hook registrations: waited for (`hooks install`, `remove`) or
    /// tried (a worker's check, skipped while an install runs).
    public func lockHooks(wait: Bool) throws -> Bool {
        if wait {
            try db.query("SELECT pg_advisory_lock($1)", [LockKeys.hooks])
            return true
        }
        return try db.query("SELECT pg_try_advisory_lock($1) AS ok", [LockKeys.hooks]).first?.bool("ok") ?? false
    }

    /// The session lock that lets one process drain the queue at a time.
    public func tryLockHookQueue() throws -> Bool {
        try db.query("SELECT pg_try_advisory_lock($1) AS ok", [LockKeys.hookQueue]).first?.bool("ok") ?? false
    }

    public func unlockHookQueue() throws {
        try db.query("SELECT pg_advisory_unlock($1)", [LockKeys.hookQueue])
    }

    /// Apps whose definition the mirror stored and that Podio has not stopped serving.
    public func mirroredApps() throws -> [Int] {
        try db.query(
            """
            SELECT a.app_id FROM podio.apps a LEFT JOIN podio.app_list l ON l.app_id = a.app_id
            WHERE l.gone_at IS NULL ORDER BY a.app_id
            """
        ).rows.compactMap { $0.int("app_id") }
    }
}
