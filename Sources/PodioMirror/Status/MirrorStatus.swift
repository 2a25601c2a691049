import Foundation
import LibPQ
import PodioAPI

/// What `status` shows; never a secret (tokens live in podio_auth and are not read here).
public struct MirrorStatus: Codable, Sendable {
    public struct App: Codable, Sendable {
        public var appID: Int
        public var name: String
        public var table: String?
        public var liveItems: Int
        public var deletedItems: Int
        public var lastFullSync: Date?
        public var lastDeltaSync: Date?
        public var highWaterMark: Date?
        public var fullLoadInProgressAt: Int?
        public var lastError: String?
        /// Live items whose comments moved since the mirror last read them (read by the next run).
        public var commentsPending: Int = 0
        /// Deep history (`PODIO_DEEP_HISTORY`): items whose revisions or diffs are still to read,
        /// and the general calls that takes (nil when deep history does not cover the app).
        public var deepHistoryPending: Int?
        public var deepHistoryCallsPending: Int?
        /// The app has a row in `podio.apps` (its definition was stored).
        public var mirrored: Bool = true
        /// The time up to which the mirror of the app is known complete: the bound of its last
        /// completed pass (`sync_state.high_water_mark`); nil until a full load completed.
        public var completeUpTo: Date?
        /// Seconds from `completeUpTo` to now; for an app never complete, from the first run
        /// that chose it.
        public var lagSeconds: Double?
        /// Chosen by a recent run and known complete less recently than twice the schedule's
        /// interval (or never complete that long after it was first chosen).
        public var behind: Bool = false
        public var firstSelectedAt: Date?
        public var selectedAt: Date?
        /// Podio stopped serving the app (403, 404, 410): skipped until `retryAfter` (the next
        /// refresh of the app list).
        public var gone: GoneApp?
        public var retryAfter: Date?
        /// Rate-limited calls of its recent deltas, on average (nil before its first delta).
        public var callsPerDelta: Double?
        /// Rate-limited calls its unfinished full load still needs, when known.
        public var callsToFinishFullLoad: Int?
        /// Its webhooks: active and not active in Podio (as last seen), when the last event came.
        public var hooksActive: Int = 0
        public var hooksInactive: Int = 0
        public var lastHookEventAt: Date?
        /// Changes reconciliation found that no hook delivered while the app had active hooks.
        public var missedByHooks: Int = 0
        public var lastMissedAt: Date?
        /// With active hooks: how long ago its last reconciliation (its last completed pass,
        /// a delta or a listing) was; `run` reconciles at most `PODIO_RECONCILE_EVERY` apart,
        /// sooner on calls the schedule leaves.
        public var reconciliationLagSeconds: Double?
    }

    /// How often the apps are meant to be synced, and how that is known.
    public struct Schedule: Codable, Sendable {
        public var intervalSeconds: Double
        /// Where the interval comes from.
        public var source: Source
        /// `run` workers seen lately.
        public var workers: Int
        /// The runs the spacing was measured on (source `recent runs`).
        public var runs: Int

        /// Where a schedule's interval comes from (`--json` prints the raw value).
        public enum Source: String, Codable, Sendable {
            /// The interval of the `run` workers seen lately (the shortest when they differ).
            case runEvery = "run --every"
            /// The median spacing of the last runs (cron).
            case recentRuns = "recent runs"
        }
    }

    /// Whether the quota covers the schedule, in rate-limited calls an hour.
    public struct Budget: Codable, Sendable {
        /// Apps chosen by recent runs and still served by Podio.
        public var apps: Int
        /// Their deltas at the schedule's interval (each app at least one call, else what its
        /// recent deltas took), plus the app list's refresh.
        public var callsPerHourNeeded: Int
        /// The rate-limited quota less the reserve, per hour.
        public var callsPerHourAllowed: Int
        /// Of the need, the app list's refresh.
        public var appListCallsPerHour: Int
        /// One-time work still to do: what the unfinished full loads need (apps never loaded
        /// whose size is unknown count one call).
        public var pendingFullLoadCalls: Int
        public var covered: Bool
    }

    public struct Quota: Codable, Sendable {
        public var credential: String
        public var tier: String
        public var used: Int
        public var quota: Int
        public var allowed: Int
        public var free: Int
        public var nextFreesAt: Date?
        public var pausedUntil: Date?
    }

    public struct Run: Codable, Sendable {
        public var runID: Int
        public var kind: String
        public var status: RunStatus
        public var startedAt: Date?
        public var finishedAt: Date?
        public var calls: Int
        public var itemsWritten: Int
        public var itemsDeleted: Int
        public var error: String?
        /// `MirrorError.Category.name` of a failed run's error.
        public var errorCategory: String?
        public var deferredUntil: Date?
    }

    public var apps: [App] = []
    public var quota: [Quota] = []
    public var windowSeconds: Double
    public var schedule: Schedule?
    public var budget: Budget?
    /// When the app list was last asked of Podio (nil: never, or the apps are named by PODIO_APPS).
    public var appListRefreshedAt: Date?
    public var runs: [Run] = []
    public var hints: [String] = []
    /// Webhook events queued and not applied yet.
    public var hookEventsPending: Int = 0
    /// Objects of the extras (an item's comments, a file, an item's deep history) a run could not
    /// read, and files hosted elsewhere than Podio (not fetched): `podio.extra_failures`, for
    /// live objects, the longest failing first.
    public var extraFailures: [ExtraFailure] = []

    /// Reads the status from the database: the store of the status queries. `appsRefresh` is
    /// `PODIO_APPS_REFRESH` (when an app Podio stopped serving is tried again); without
    /// `itemCounts` the apps' item counts are left at zero (the metrics endpoint, often asked).
    public static func load(
        _ db: PGConnection, policy: QuotaPolicy, appsRefresh: Double = 3600, now: Date,
        itemCounts: Bool = true, deepHistory: DeepHistorySetting = .off, reconcileInterval: Double = 3600
    ) throws -> MirrorStatus {
        var report = MirrorStatus(windowSeconds: policy.window)
        report.apps = try db.query(
            """
            WITH known AS (
                SELECT app_id FROM podio.apps
                UNION SELECT app_id FROM podio.app_list WHERE selected_at IS NOT NULL OR gone_at IS NOT NULL
            )
            SELECT k.app_id, coalesce(a.name, l.name, 'app ' || k.app_id) AS name, a.table_name, a.app_id IS NOT NULL AS mirrored,
                   CASE WHEN $1 THEN (SELECT count(*) FROM podio.items i WHERE i.app_id = k.app_id AND i.deleted_at IS NULL) END AS live,
                   CASE WHEN $1 THEN (SELECT count(*) FROM podio.items i WHERE i.app_id = k.app_id AND i.deleted_at IS NOT NULL) END AS deleted,
                   s.last_full_sync_at, s.last_delta_sync_at, s.high_water_mark, s.full_pass_run_id, s.full_pass_offset,
                   s.full_pass_filtered, s.last_error, l.first_selected_at, l.selected_at, l.gone_at, l.gone_status, l.gone_error,
                   (SELECT avg(p.calls_rate_limited) FROM (
                        SELECT calls_rate_limited FROM podio.app_passes p
                        WHERE p.app_id = k.app_id AND p.mode IN ('delta', 'listing') AND p.status = 'succeeded'
                        ORDER BY p.pass_id DESC LIMIT 5) p) AS delta_calls,
                   (SELECT count(*) FROM podio.items i LEFT JOIN podio.comment_reads r ON r.item_id = i.item_id
                    WHERE i.app_id = k.app_id AND i.deleted_at IS NULL AND \(CommentSQL.awaitingRead)) AS comments_pending,
                   (SELECT count(*) FROM podio.hooks h WHERE h.app_id = k.app_id AND h.status = 'active') AS hooks_active,
                   (SELECT count(*) FROM podio.hooks h WHERE h.app_id = k.app_id AND h.status <> 'active') AS hooks_inactive,
                   (SELECT max(h.last_event_at) FROM podio.hooks h WHERE h.app_id = k.app_id) AS last_hook_event_at,
                   s.hooks_missed, s.hooks_missed_at
            FROM known k
            LEFT JOIN podio.apps a ON a.app_id = k.app_id
            LEFT JOIN podio.sync_state s ON s.app_id = k.app_id
            LEFT JOIN podio.app_list l ON l.app_id = k.app_id
            ORDER BY k.app_id
            """, [itemCounts]
        ).rows.map { r in
            let appID = r.int("app_id") ?? 0
            let unfinished = r.int64("full_pass_run_id") != nil
            var app = App(
                appID: appID, name: r.string("name") ?? "", table: r.string("table_name"),
                liveItems: r.int("live") ?? 0, deletedItems: r.int("deleted") ?? 0,
                lastFullSync: r.date("last_full_sync_at"), lastDeltaSync: r.date("last_delta_sync_at"),
                highWaterMark: r.date("high_water_mark"),
                fullLoadInProgressAt: unfinished ? r.int("full_pass_offset") : nil,
                lastError: r.string("last_error"), commentsPending: r.int("comments_pending") ?? 0)
            app.mirrored = r.bool("mirrored") ?? false
            app.completeUpTo = app.lastFullSync != nil ? app.highWaterMark : nil
            app.firstSelectedAt = r.date("first_selected_at")
            app.selectedAt = r.date("selected_at")
            if let goneAt = r.date("gone_at"), goneAt > now.addingTimeInterval(-appsRefresh) {
                app.gone = GoneApp(
                    appID: appID, status: r.int("gone_status"), error: r.string("gone_error") ?? "", since: goneAt)
                app.retryAfter = goneAt.addingTimeInterval(appsRefresh)
            }
            if let since = app.completeUpTo ?? app.firstSelectedAt {
                app.lagSeconds = max(0, now.timeIntervalSince(since))
            }
            app.callsPerDelta = r.double("delta_calls")
            app.hooksActive = r.int("hooks_active") ?? 0
            app.hooksInactive = r.int("hooks_inactive") ?? 0
            app.lastHookEventAt = r.date("last_hook_event_at")
            app.missedByHooks = r.int("hooks_missed") ?? 0
            app.lastMissedAt = r.date("hooks_missed_at")
            if app.hooksActive > 0, let last = [app.lastDeltaSync, app.lastFullSync].compactMap({ $0 }).max() {
                app.reconciliationLagSeconds = max(0, now.timeIntervalSince(last))
            }
            if unfinished, let filtered = r.int("full_pass_filtered") {
                let left = filtered - (r.int("full_pass_offset") ?? 0)
                app.callsToFinishFullLoad = max(1, PageSize.maximum.pages(for: left))
            }
            return app
        }
        let covered = report.apps.filter { $0.mirrored && deepHistory.covers($0.appID) }.map(\.appID)
        let pending = try MirrorStore(db: db).history.revisionPending(apps: covered)
        for index in report.apps.indices where covered.contains(report.apps[index].appID) {
            report.apps[index].deepHistoryPending = pending[report.apps[index].appID]?.items ?? 0
            report.apps[index].deepHistoryCallsPending = pending[report.apps[index].appID]?.calls ?? 0
        }
        report.appListRefreshedAt = try db.query("SELECT refreshed_at FROM podio.app_list_refresh").first?.date(
            "refreshed_at")
        report.schedule = try schedule(db, now: now)
        if let schedule = report.schedule {
            let listCalls =
                try db.query(
                    "SELECT calls_rate_limited FROM podio.app_list_refresh WHERE refreshed_at > $1",
                    [now.addingTimeInterval(-2 * appsRefresh)]
                ).first?.int("calls_rate_limited") ?? 0
            report.judge(
                schedule: schedule, policy: policy, appsRefresh: appsRefresh, appListCalls: listCalls, now: now,
                reconcileInterval: reconcileInterval)
        }
        // The ledger's own reading (calls booked on both tiers, the server's floor, its lower
        // limits, pauses), for every identity with calls in the window or a pause.
        let windowStart = now.addingTimeInterval(-policy.window)
        let credentials = try db.query(
            """
            SELECT DISTINCT credential FROM podio.api_calls WHERE called_at > $1
            UNION SELECT credential FROM podio.quota_state WHERE paused_until > $2 ORDER BY 1
            """, [windowStart, now]
        ).rows.compactMap { $0.string("credential") }
        report.quota = try credentials.flatMap { credential in
            try QuotaLedger.usage(db, identity: credential, policy: policy, now: now)
                .filter { $0.used > 0 || $0.pausedUntil != nil }
                .map { usage in
                    Quota(
                        credential: credential, tier: usage.tier.rawValue, used: usage.used, quota: usage.quota,
                        allowed: usage.allowed, free: max(0, usage.allowed - usage.used),
                        nextFreesAt: usage.oldestLeavesAt, pausedUntil: usage.pausedUntil)
                }
        }
        report.runs = try db.query(
            """
            SELECT run_id, kind, status, started_at, finished_at, calls_rate_limited + calls_general AS calls,
                   items_written, items_deleted, error, error_category, deferred_until
            FROM podio.sync_runs ORDER BY run_id DESC LIMIT 10
            """
        ).rows.map { r in
            Run(
                runID: r.int("run_id") ?? 0, kind: r.string("kind") ?? "",
                status: r.string("status").flatMap(RunStatus.init(rawValue:)) ?? .failed,
                startedAt: r.date("started_at"), finishedAt: r.date("finished_at"), calls: r.int("calls") ?? 0,
                itemsWritten: r.int("items_written") ?? 0, itemsDeleted: r.int("items_deleted") ?? 0,
                error: r.string("error"), errorCategory: r.string("error_category"),
                deferredUntil: r.date("deferred_until"))
        }
        report.hookEventsPending =
            try db.query("SELECT count(*) AS n FROM podio.hook_events WHERE applied_at IS NULL").first?.int("n") ?? 0
        report.extraFailures = try MirrorStore(db: db).failures.extraFailures()
        report.hints = hints(report)
        return report
    }

    /// The schedule: the `run` workers seen lately (their `--every`), else the median spacing of
    /// the last sync runs (cron), else nil (fewer than three runs, no worker).
    static func schedule(_ db: PGConnection, now: Date) throws -> Schedule? {
        let workers = try db.query(
            """
            SELECT count(*) AS n, min(every_seconds) AS every FROM podio.workers
            WHERE stopped_at IS NULL AND seen_at > $1::timestamptz - make_interval(secs => greatest(3 * every_seconds, 300)::float8)
            """, [now]
        ).first
        if let n = workers?.int("n"), n > 0, let every = workers?.double("every") {
            return Schedule(intervalSeconds: every, source: .runEvery, workers: n, runs: 0)
        }
        let starts = try db.query(
            "SELECT started_at FROM podio.sync_runs WHERE kind = 'sync' ORDER BY run_id DESC LIMIT 11"
        ).rows.compactMap { $0.date("started_at") }
        guard starts.count >= 3 else { return nil }
        let gaps = zip(starts, starts.dropFirst()).map { abs($0.timeIntervalSince($1)) }.sorted()
        let median = gaps[gaps.count / 2]
        guard median > 0 else { return nil }
        return Schedule(intervalSeconds: median, source: .recentRuns, workers: 0, runs: starts.count)
    }

    /// Flags the apps that fall behind the schedule and weighs the schedule against the quota.
    mutating func judge(
        schedule: Schedule, policy: QuotaPolicy, appsRefresh: Double, appListCalls: Int, now: Date,
        reconcileInterval: Double = 3600
    ) {
        let interval = schedule.intervalSeconds
        // Apps a run chose lately are in the schedule; others (no longer in PODIO_APPS, say) are not judged.
        let recent = now.addingTimeInterval(-max(3 * interval, 3600))
        var needed = 0.0
        var inSchedule = 0
        var pending = 0
        for index in apps.indices {
            let app = apps[index]
            guard let selected = app.selectedAt, selected > recent, app.gone == nil else { continue }
            inSchedule += 1
            // An app with active hooks gets its delta (reconciliation) at its own interval.
            let every = app.hooksActive > 0 ? reconcileInterval : interval
            needed += max(1, app.callsPerDelta ?? 1) * 3600 / every
            if app.completeUpTo == nil { pending += app.callsToFinishFullLoad ?? 1 }
            if let lag = app.lagSeconds, lag > 2 * every { apps[index].behind = true }
        }
        let listPerHour = appListCalls > 0 ? Double(appListCalls) * 3600 / appsRefresh : 0
        needed += listPerHour
        let allowed = Double(policy.allowed(.rateLimited)) * 3600 / policy.window
        budget = Budget(
            apps: inSchedule, callsPerHourNeeded: Int(needed.rounded(.up)),
            callsPerHourAllowed: Int(allowed.rounded(.down)),
            appListCallsPerHour: Int(listPerHour.rounded(.up)), pendingFullLoadCalls: pending,
            covered: needed <= allowed)
    }

    /// The schedule in words: "every 15m (run --every, 2 workers)".
    public var scheduleDescription: String? {
        guard let schedule else { return nil }
        let every = DurationParser.approximate(schedule.intervalSeconds)
        if schedule.source == .runEvery {
            return "every \(every) (run --every, \(schedule.workers) worker\(schedule.workers == 1 ? "" : "s"))"
        }
        return "about every \(every) (the spacing of the last \(schedule.runs) runs)"
    }

    /// What needs attention, in sentences for people.
    static func hints(_ report: MirrorStatus) -> [String] {
        var hints: [String] = []
        if report.apps.isEmpty && report.runs.isEmpty {
            hints.append("nothing mirrored yet: run `podio-mirror sync`")
        }
        if let last = report.runs.first(where: { $0.status != .running }), last.status == .failed {
            if last.errorCategory == MirrorError.Category.credentialsRefused.name {
                hints.append(
                    "Podio refused the credentials in run \(last.runID): check PODIO_CLIENT_ID/SECRET and the user or app credentials, or run `podio-mirror login` again"
                )
            } else {
                hints.append(
                    "run \(last.runID) failed: \(last.error ?? "no message"); the next sync resumes from the last committed page"
                )
            }
        }
        let recent = report.runs.prefix(5)
        if recent.count >= 3 && recent.prefix(3).allSatisfy({ $0.status == .deferred }) {
            hints.append(
                "the last runs were all deferred: the quota does not cover the work between runs; run less often, raise --max-wait, or ask Podio for a higher limit"
            )
        }
        if let budget = report.budget, !budget.covered, let schedule = report.scheduleDescription {
            hints.append(
                "the quota cannot cover the schedule: \(budget.apps) app\(budget.apps == 1 ? "" : "s") need ~\(budget.callsPerHourNeeded) rate-limited calls an hour "
                    + "for a delta of each \(schedule); the quota allows \(budget.callsPerHourAllowed): run less often, mirror fewer apps (PODIO_APPS), or ask Podio for a higher limit"
            )
        }
        for app in report.apps {
            if let gone = app.gone {
                hints.append(
                    "app \(app.appID): Podio no longer serves it to these credentials (\(gone.status.map { "HTTP \($0)" } ?? "an error") at \(format(gone.since))); "
                        + "skipped until the app list is refreshed (\(format(app.retryAfter)), or run `podio-mirror apps`)"
                )
            }
            if app.behind, let lag = app.lagSeconds, let interval = report.schedule?.intervalSeconds {
                let what =
                    app.completeUpTo == nil
                    ? "never complete since a run first chose it" : "complete only up to \(format(app.completeUpTo))"
                hints.append(
                    "app \(app.appID) is behind its schedule: \(what), \(DurationParser.approximate(lag)) ago "
                        + "(more than twice the interval of \(DurationParser.approximate(interval)))")
            }
            if let offset = app.fullLoadInProgressAt {
                hints.append("app \(app.appID): a full load stopped at item \(offset); the next sync resumes it")
            }
            if let error = app.lastError { hints.append("app \(app.appID): last error: \(error)") }
            if app.hooksInactive > 0 {
                hints.append(
                    "app \(app.appID): \(app.hooksInactive) webhook\(app.hooksInactive == 1 ? " is" : "s are") not active in Podio; "
                        + "a running `run --listen` asks Podio to verify them again (`podio-mirror hooks list` shows them)"
                )
            }
        }
        for q in report.quota where q.pausedUntil != nil {
            hints.append("\(q.credential) \(q.tier): paused after a 420 until \(format(q.pausedUntil))")
        }
        // Objects the extras failed on (a file hosted elsewhere is a choice, not a failure).
        let failing = report.extraFailures.filter { $0.attempts > 0 }
        for kind in ExtraFailure.Kind.allCases {
            let ofKind = failing.filter { $0.kind == kind }
            guard let next = ofKind.compactMap(\.nextTryAt).min() else { continue }
            let what: String
            switch kind {
            case .comments: what = "item\(ofKind.count == 1 ? "'s" : "s'") comments"
            case .file: what = "file\(ofKind.count == 1 ? "" : "s")"
            case .revisions: what = "item\(ofKind.count == 1 ? "'s" : "s'") deep history"
            }
            hints.append(
                "\(ofKind.count) \(what) could not be read (listed under \"Not read\"); the next try is at \(format(next))"
            )
        }
        return hints
    }

    /// A time as `status` prints it: `YYYY-MM-DD HH:MM:SS UTC`, or `never`.
    public static func format(_ date: Date?) -> String {
        date.map { PodioTime.format($0) + " UTC" } ?? "never"
    }
}
