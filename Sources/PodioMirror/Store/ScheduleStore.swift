import Foundation
import LibPQ
import PodioAPI

/// The statements of fair scheduling: which app needs a run most, which run holds which app,
/// the cached app list, the apps Podio stopped serving, and the `run` workers' schedules.
public struct ScheduleStore: StoreSlice {
    public let db: PGConnection

    public init(db: PGConnection) {
        self.db = db
    }

    // MARK: - Need

    /// `apps` in order of need: an unfinished full load first (a resumed pass finishes what was
    /// paid for), then apps never loaded in full, then the stalest first by the bound of their
    /// last completed pass (`high_water_mark`; for a resync, `last_full_sync_at`), ties in the
    /// given order. A run that deferred left its remaining apps with the older bounds, so they
    /// come first in the next run.
    public func appsInNeed(_ apps: [Int], fullPasses: Bool) throws -> [Int] {
        guard !apps.isEmpty else { return [] }
        return try db.query(
            """
            SELECT a.id FROM unnest($1::bigint[]) WITH ORDINALITY AS a(id, ord)
            LEFT JOIN podio.sync_state s ON s.app_id = a.id
            ORDER BY CASE WHEN s.full_pass_run_id IS NOT NULL THEN 0 WHEN s.last_full_sync_at IS NULL THEN 1 ELSE 2 END,
                     CASE WHEN $2 THEN s.last_full_sync_at ELSE s.high_water_mark END ASC NULLS FIRST,
                     a.ord
            """, [apps, fullPasses]
        ).rows.compactMap { $0.int("id") }
    }

    /// True when another run completed a pass of the app after `runID` began (and left no full
    /// load unfinished): this run has nothing left to do for it.
    public func completedSince(appID: Int, runID: Int64, fullPass: Bool) throws -> Bool {
        try db.query(
            """
            SELECT EXISTS (
                SELECT 1 FROM podio.sync_state s, podio.sync_runs r
                WHERE s.app_id = $1 AND r.run_id = $2 AND s.full_pass_run_id IS NULL
                  AND (CASE WHEN $3 THEN s.last_full_sync_at ELSE greatest(s.last_full_sync_at, s.last_delta_sync_at) END) >= r.started_at
            ) AS done
            """, [appID, runID, fullPass]
        ).first?.bool("done") ?? false
    }

    /// The rate-limited calls a delta of each app took lately (the mean of its last five), or
    /// nothing for an app without a delta yet.
    public func deltaCosts(_ apps: [Int]) throws -> [Int: Double] {
        guard !apps.isEmpty else { return [:] }
        var costs: [Int: Double] = [:]
        for row in try db.query(
            """
            SELECT a.id, (SELECT avg(p.calls_rate_limited)::float8 FROM (
                SELECT calls_rate_limited FROM podio.app_passes p
                WHERE p.app_id = a.id AND p.mode IN ('delta', 'listing') AND p.status = 'succeeded'
                ORDER BY p.pass_id DESC LIMIT 5) p) AS cost
            FROM unnest($1::bigint[]) AS a(id)
            """, [apps]
        ).rows {
            if let id = row.int("id"), let cost = row.double("cost") { costs[id] = cost }
        }
        return costs
    }

    // MARK: - Claims

    /// Takes the session lock of every app of `apps` that no other run holds, all in one step
    /// that no other claim can interleave with (`LockKeys.claims`). Returns the apps taken.
    public func claimAll(_ apps: [Int]) throws -> [Int] {
        try db.withTransaction { db in
            try db.advisoryTransactionLock(LockKeys.claims)
            return try apps.filter { try db.tryAdvisoryLock(LockKeys.app($0)) }
        }
    }

    /// Takes the session lock of one app unless another run holds it.
    public func claim(appID: Int) throws -> Bool {
        try db.tryAdvisoryLock(LockKeys.app(appID))
    }

    /// Lets other runs take the app.
    public func release(appID: Int) throws {
        try db.advisoryUnlock(LockKeys.app(appID))
    }

    /// Tries the lock of the app-list refresh (one process asks Podio; the others wait and read
    /// what it stored).
    public func tryLockAppList() throws -> Bool {
        try db.tryAdvisoryLock(LockKeys.appList)
    }

    public func unlockAppList() throws {
        try db.advisoryUnlock(LockKeys.appList)
    }

    // MARK: - The app list

    /// The apps of the cached list when it was made for `identity` less than `maxAge` seconds
    /// before `now`; nil when it must be asked of Podio again.
    public func cachedAppList(identity: String, maxAge: Double, now: Date) throws -> [Int]? {
        let fresh =
            try db.query(
                "SELECT refreshed_at FROM podio.app_list_refresh WHERE identity = $1 AND refreshed_at > $2 AND refreshed_at <= $3",
                [identity, now.addingTimeInterval(-maxAge), now.addingTimeInterval(60)]
            ).first != nil
        guard fresh else { return nil }
        return try db.query("SELECT app_id FROM podio.app_list WHERE listed_at IS NOT NULL ORDER BY app_id").rows
            .compactMap { $0.int("app_id") }
    }

    /// Stores what Podio listed: listed apps are refreshed (and no longer marked gone), apps it
    /// no longer lists are kept unlisted, and the time, identity and cost of the refresh are
    /// recorded, all in one transaction. The organizations and spaces the walk saw go to
    /// `podio.orgs` and `podio.spaces` (kept when a later walk no longer sees them).
    public func storeAppList(
        _ apps: [PodioAppSummary], places: PodioPlaces = PodioPlaces(), identity: String, callsRateLimited: Int,
        now: Date
    ) throws {
        try db.withTransaction { db in
            if !places.orgs.isEmpty || !places.spaces.isEmpty {
                try db.query(
                    """
                    WITH o AS (
                        INSERT INTO podio.orgs AS t (org_id, name, url_label, url, listed_at)
                        SELECT DISTINCT ON (org_id) org_id, name, url_label, url, $3
                        FROM jsonb_to_recordset($1::jsonb) AS x(org_id bigint, name text, url_label text, url text)
                        ORDER BY org_id
                        ON CONFLICT (org_id) DO UPDATE SET name = EXCLUDED.name, url_label = EXCLUDED.url_label,
                            url = EXCLUDED.url, listed_at = EXCLUDED.listed_at
                        RETURNING 1
                    )
                    INSERT INTO podio.spaces AS t (space_id, org_id, name, url_label, url, listed_at)
                    SELECT DISTINCT ON (space_id) space_id, org_id, name, url_label, url, $3
                    FROM jsonb_to_recordset($2::jsonb) AS x(space_id bigint, org_id bigint, name text, url_label text, url text)
                    ORDER BY space_id
                    ON CONFLICT (space_id) DO UPDATE SET org_id = EXCLUDED.org_id, name = EXCLUDED.name,
                        url_label = EXCLUDED.url_label, url = EXCLUDED.url, listed_at = EXCLUDED.listed_at
                    """, [places.orgsJSON, places.spacesJSON, now])
            }
            try db.query("UPDATE podio.app_list SET listed_at = NULL WHERE listed_at IS NOT NULL")
            for app in apps {
                try db.query(
                    """
                    INSERT INTO podio.app_list (app_id, space_id, name, status, listed_at) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (app_id) DO UPDATE SET space_id = EXCLUDED.space_id, name = EXCLUDED.name,
                        status = EXCLUDED.status, listed_at = EXCLUDED.listed_at, gone_at = NULL, gone_status = NULL,
                        gone_error = NULL
                    """, [app.appID, app.spaceID, app.name, app.status, now])
            }
            try db.query(
                """
                INSERT INTO podio.app_list_refresh (singleton, identity, refreshed_at, apps, calls_rate_limited)
                VALUES (true, $1, $2, $3, $4)
                ON CONFLICT (singleton) DO UPDATE SET identity = $1, refreshed_at = $2, apps = $3, calls_rate_limited = $4
                """, [identity, now, apps.count, callsRateLimited])
        }
    }

    /// Records that a run chose these apps (`status` lists them even before their first sync).
    public func markSelected(_ apps: [Int], now: Date) throws {
        guard !apps.isEmpty else { return }
        try db.query(
            """
            INSERT INTO podio.app_list (app_id, first_selected_at, selected_at)
            SELECT id, $2, $2 FROM unnest($1::bigint[]) AS id
            ON CONFLICT (app_id) DO UPDATE SET selected_at = $2,
                first_selected_at = coalesce(podio.app_list.first_selected_at, $2)
            """, [apps, now])
    }

    /// The apps of `apps` that Podio stopped serving less than `within` seconds before `now`
    /// (skipped until the list is refreshed), with the answer it gave.
    public func goneApps(among apps: [Int], within: Double, now: Date) throws -> [Int: GoneApp] {
        guard !apps.isEmpty else { return [:] }
        var gone: [Int: GoneApp] = [:]
        for row in try db.query(
            """
            SELECT app_id, gone_at, gone_status, gone_error FROM podio.app_list
            WHERE app_id = ANY ($1::bigint[]) AND gone_at > $2
            """, [apps, now.addingTimeInterval(-within)]
        ).rows {
            guard let id = row.int("app_id"), let at = row.date("gone_at") else { continue }
            gone[id] = GoneApp(
                appID: id, status: row.int("gone_status"), error: row.string("gone_error") ?? "", since: at)
        }
        return gone
    }

    /// Marks an app Podio answered 403, 404 or 410 for.
    public func markGone(appID: Int, status: Int?, error: String, now: Date) throws {
        try db.query(
            """
            INSERT INTO podio.app_list (app_id, gone_at, gone_status, gone_error) VALUES ($1, $2, $3, $4)
            ON CONFLICT (app_id) DO UPDATE SET gone_at = $2, gone_status = $3, gone_error = $4
            """, [appID, now, status, error])
    }

    // MARK: - Workers

    /// Records a `run` scheduler starting; returns its id. Workers not seen for a week are forgotten.
    public func registerWorker(host: String, pid: Int, every: Double, resyncEvery: Double?, listen: String?) throws
        -> Int64
    {
        try db.query("DELETE FROM podio.workers WHERE seen_at < now() - interval '7 days'")
        return try db.query(
            """
            INSERT INTO podio.workers (host, pid, every_seconds, resync_every_seconds, listen)
            VALUES ($1, $2, $3::numeric, $4::numeric, $5) RETURNING worker_id
            """, [host, pid, every, resyncEvery, listen]
        ).first?.int64("worker_id") ?? 0
    }

    /// The worker's heartbeat (once per tick).
    public func workerSeen(_ workerID: Int64) throws {
        try db.query("UPDATE podio.workers SET seen_at = now(), stopped_at = NULL WHERE worker_id = $1", [workerID])
    }

    public func workerStopped(_ workerID: Int64) throws {
        try db.query("UPDATE podio.workers SET seen_at = now(), stopped_at = now() WHERE worker_id = $1", [workerID])
    }

    /// Answers when the database does (the health check).
    public func ping() throws {
        try db.query("SELECT 1")
    }
}

/// An app Podio stopped serving (403, 404, 410 on its definition or its items).
public struct GoneApp: Sendable, Codable, Equatable {
    public var appID: Int
    /// The HTTP status Podio answered.
    public var status: Int?
    public var error: String
    public var since: Date
}
