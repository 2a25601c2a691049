import Foundation
import LibPQ

/// The runs: the session a run works in, its row in `podio.sync_runs` from start to end, the
/// passes it makes over each app (`podio.app_passes`), and when each kind last succeeded.
public struct RunStore: StoreSlice {
    public let db: PGConnection

    public init(db: PGConnection) {
        self.db = db
    }

    /// Settings of a run's session. Page statements are short and many: JIT compilation would
    /// cost more than it saves. Items' raw JSON is compressed with lz4 rather than pglz when the
    /// server has lz4 and nobody chose a method: a full load is ~17% faster (pglz costs more than
    /// the rest of storing the JSON), for ~12% more space. Readers see no difference.
    public func prepareRunSession() throws {
        try db.execute("SET jit = off")
        try db.query(
            """
            SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings
            WHERE name = 'default_toast_compression' AND source = 'default' AND 'lz4' = ANY (enumvals)
            """)
    }

    /// A run that failed (or was deferred) before it could start, so `status` still shows it.
    public func recordRunThatDidNotStart(kind: String, message: String, deferredUntil: Date?, category: String) throws {
        try db.query(
            """
            INSERT INTO podio.sync_runs (kind, status, finished_at, host, pid, error, deferred_until, error_category)
            VALUES ($1, $5, now(), $2, $3, $4, $6, $7)
            """,
            [
                kind, ProcessInfo.processInfo.hostName, Int(ProcessInfo.processInfo.processIdentifier), message,
                deferredUntil == nil ? RunStatus.failed : RunStatus.deferred, deferredUntil, category,
            ])
    }

    /// Starts a run: runs left `running` whose database session is gone were interrupted
    /// (killed, crashed) and are closed as failed, with their passes; old passes are pruned.
    /// Returns the new run's id.
    public func startRun(kind: String, apps: [Int]) throws -> Int64 {
        try db.query(
            """
            UPDATE podio.sync_runs SET status = 'failed', finished_at = now(),
                error = coalesce(error, 'interrupted: the process ended before the run finished')
            WHERE status = 'running'
              AND (backend_pid IS NULL OR backend_pid NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL))
            """)
        try closeInterruptedPasses()
        try prunePasses()
        guard
            let runID = try db.query(
                """
                INSERT INTO podio.sync_runs (kind, status, host, pid, backend_pid, apps)
                VALUES ($1, 'running', $2, $3, pg_backend_pid(), $4::bigint[]) RETURNING run_id
                """,
                [kind, ProcessInfo.processInfo.hostName, Int(ProcessInfo.processInfo.processIdentifier), apps]
            ).first?.int64("run_id")
        else { throw MirrorError(.database, "podio.sync_runs returned no run id for a new run") }
        return runID
    }

    /// The statuses of the latest `limit` runs of a kind, newest first (`sync` reads how many in
    /// a row deferred).
    public func latestRunStatuses(kind: String, limit: Int) throws -> [RunStatus?] {
        try db.query(
            "SELECT status FROM podio.sync_runs WHERE kind = $1 ORDER BY run_id DESC LIMIT $2", [kind, limit]
        ).rows.map { $0.string("status").flatMap(RunStatus.init(rawValue:)) }
    }

    /// Records how a run ended, with its counts.
    public func finishRun(_ s: RunSummary) throws {
        let deletedBy = Set(s.apps.compactMap(\.deletionsFoundBy)).sorted().joined(separator: ", ")
        let withheld = s.apps.compactMap { app in app.deletionsWithheld.map { "app \(app.appID): \($0)" } }.joined(
            separator: "; ")
        try db.query(
            """
            UPDATE podio.sync_runs SET status = $2, finished_at = now(), apps = $3::bigint[],
                calls_rate_limited = $4, calls_general = $5, items_seen = $6, items_written = $7,
                items_unchanged = $8, items_deleted = $9, deletions_found_by = $10, deferred_until = $11, error = $12,
                deletions_withheld = $13, error_category = $14, apps_skipped = $15::bigint[]
            WHERE run_id = $1
            """,
            [
                s.runID, s.status, s.apps.map(\.appID), s.callsRateLimited, s.callsGeneral, s.itemsSeen,
                s.itemsWritten, s.itemsUnchanged, s.itemsDeleted, deletedBy.isEmpty ? nil : deletedBy,
                s.deferredUntil, s.error, withheld.isEmpty ? nil : withheld, s.errorCategory,
                s.skipped.filter { $0.reason == .heldByAnotherRun }.map(\.appID),
            ])
    }

    // MARK: - Passes

    /// Records that a run took up an app; returns the pass's id.
    public func beginPass(runID: Int64, appID: Int, mode: PassMode, resumedAtOffset: Int?) throws -> Int64 {
        try db.query(
            """
            INSERT INTO podio.app_passes (run_id, app_id, mode, status, resumed_at_offset)
            VALUES ($1, $2, $3, 'running', $4) RETURNING pass_id
            """, [runID, appID, mode.rawValue, resumedAtOffset]
        ).first?.int64("pass_id") ?? 0
    }

    /// Records how a pass ended and what it cost.
    public func finishPass(
        passID: Int64, status: PassStatus, callsRateLimited: Int, callsGeneral: Int, itemsWritten: Int,
        itemsDeleted: Int
    ) throws {
        try db.query(
            """
            UPDATE podio.app_passes SET status = $2, finished_at = now(), calls_rate_limited = $3, calls_general = $4,
                items_written = $5, items_deleted = $6
            WHERE pass_id = $1
            """, [passID, status.rawValue, callsRateLimited, callsGeneral, itemsWritten, itemsDeleted])
    }

    /// Passes left `running` by runs that were interrupted (their session is gone) are marked so.
    public func closeInterruptedPasses() throws {
        try db.query(
            """
            UPDATE podio.app_passes p SET status = 'failed'
            FROM podio.sync_runs r
            WHERE p.run_id = r.run_id AND p.status = 'running' AND r.status <> 'running'
            """)
    }

    /// Forgets passes older than `days`.
    public func prunePasses(olderThanDays days: Int = 30) throws {
        try db.query("DELETE FROM podio.app_passes WHERE started_at < now() - make_interval(days => $1)", [days])
    }

    // MARK: - Monitoring

    /// When the last run of each kind (`sync`, `resync`; dry runs apart) succeeded, any process.
    public func lastSuccessByKind() throws -> [String: Date] {
        var last: [String: Date] = [:]
        for row in try db.query(
            "SELECT kind, max(finished_at) AS at FROM podio.sync_runs WHERE status = 'succeeded' GROUP BY kind"
        ).rows {
            if let kind = row.string("kind"), let at = row.date("at") { last[kind] = at }
        }
        return last
    }
}
