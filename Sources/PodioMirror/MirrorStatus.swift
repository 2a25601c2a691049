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
        public var commentsPending: Int
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
        public var status: String
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
    public var runs: [Run] = []
    public var hints: [String] = []

    /// Reads the status from the database: the store of the status queries.
    public static func load(_ db: PGConnection, policy: QuotaPolicy, now: Date = Date()) throws -> MirrorStatus {
        var report = MirrorStatus(windowSeconds: policy.window)
        report.apps = try db.query(
            """
            SELECT a.app_id, a.name, a.table_name,
                   (SELECT count(*) FROM podio.items i WHERE i.app_id = a.app_id AND i.deleted_at IS NULL) AS live,
                   (SELECT count(*) FROM podio.items i WHERE i.app_id = a.app_id AND i.deleted_at IS NOT NULL) AS deleted,
                   s.last_full_sync_at, s.last_delta_sync_at, s.high_water_mark, s.full_pass_run_id, s.full_pass_offset,
                   s.last_error,
                   (SELECT count(*) FROM podio.items i LEFT JOIN podio.comment_reads r ON r.item_id = i.item_id
                    WHERE i.app_id = a.app_id AND i.deleted_at IS NULL AND coalesce(i.comment_count, 0) > 0
                      AND (r.item_id IS NULL OR r.comment_count IS DISTINCT FROM i.comment_count
                           OR r.last_event_on IS DISTINCT FROM i.last_event_on)) AS comments_pending
            FROM podio.apps a LEFT JOIN podio.sync_state s ON s.app_id = a.app_id ORDER BY a.app_id
            """
        ).rows.map { r in
            App(
                appID: r.int("app_id") ?? 0, name: r.string("name") ?? "", table: r.string("table_name"),
                liveItems: r.int("live") ?? 0, deletedItems: r.int("deleted") ?? 0,
                lastFullSync: r.date("last_full_sync_at"), lastDeltaSync: r.date("last_delta_sync_at"),
                highWaterMark: r.date("high_water_mark"),
                fullLoadInProgressAt: r.int64("full_pass_run_id") != nil ? r.int("full_pass_offset") : nil,
                lastError: r.string("last_error"), commentsPending: r.int("comments_pending") ?? 0)
        }
        let windowStart = now.addingTimeInterval(-policy.window)
        report.quota = try db.query(
            """
            WITH used AS (
                SELECT credential, tier, count(*) AS used, min(called_at) AS oldest
                FROM podio.api_calls WHERE called_at > $1 GROUP BY credential, tier
            )
            SELECT coalesce(u.credential, q.credential) AS credential, coalesce(u.tier, q.tier) AS tier,
                   coalesce(u.used, 0) AS used, u.oldest, q.paused_until
            FROM used u FULL JOIN (SELECT * FROM podio.quota_state WHERE paused_until > $2) q
                 ON q.credential = u.credential AND q.tier = u.tier
            ORDER BY 1, 2
            """, [windowStart, now]
        ).rows.map { r in
            let tier = QuotaTier(rawValue: r.string("tier") ?? "") ?? .general
            let used = r.int("used") ?? 0
            return Quota(
                credential: r.string("credential") ?? "", tier: tier.rawValue, used: used, quota: policy.limit(tier),
                allowed: policy.allowed(tier), free: max(0, policy.allowed(tier) - used),
                nextFreesAt: r.date("oldest").map { $0.addingTimeInterval(policy.window) },
                pausedUntil: r.date("paused_until"))
        }
        report.runs = try db.query(
            """
            SELECT run_id, kind, status, started_at, finished_at, calls_rate_limited + calls_general AS calls,
                   items_written, items_deleted, error, error_category, deferred_until
            FROM podio.sync_runs ORDER BY run_id DESC LIMIT 10
            """
        ).rows.map { r in
            Run(
                runID: r.int("run_id") ?? 0, kind: r.string("kind") ?? "", status: r.string("status") ?? "",
                startedAt: r.date("started_at"), finishedAt: r.date("finished_at"), calls: r.int("calls") ?? 0,
                itemsWritten: r.int("items_written") ?? 0, itemsDeleted: r.int("items_deleted") ?? 0,
                error: r.string("error"), errorCategory: r.string("error_category"), deferredUntil: r.date("deferred_until"))
        }
        report.hints = hints(report)
        return report
    }

    /// What needs attention, in sentences for people.
    static func hints(_ report: MirrorStatus) -> [String] {
        var hints: [String] = []
        if report.apps.isEmpty && report.runs.isEmpty {
            hints.append("nothing mirrored yet: run `podio-mirror sync`")
        }
        if let last = report.runs.first(where: { $0.status != "running" }), last.status == "failed" {
            if last.errorCategory == MirrorError.Category.credentialsRefused.name {
                hints.append("Podio refused the credentials in run \(last.runID): check PODIO_CLIENT_ID/SECRET and the user or app credentials, or run `podio-mirror login` again")
            } else {
                hints.append("run \(last.runID) failed: \(last.error ?? "no message"); the next sync resumes from the last committed page")
            }
        }
        let recent = report.runs.prefix(5)
        if recent.count >= 3 && recent.prefix(3).allSatisfy({ $0.status == "deferred" }) {
            hints.append("the last runs were all deferred: the quota does not cover the work between runs; run less often, raise --max-wait, or ask Podio for a higher limit")
        }
        for app in report.apps {
            if let offset = app.fullLoadInProgressAt {
                hints.append("app \(app.appID): a full load stopped at item \(offset); the next sync resumes it")
            }
            if let error = app.lastError { hints.append("app \(app.appID): last error: \(error)") }
        }
        for q in report.quota where q.pausedUntil != nil {
            hints.append("\(q.credential) \(q.tier): paused after a 420 until \(format(q.pausedUntil))")
        }
        return hints
    }

    /// A time as `status` prints it: `YYYY-MM-DD HH:MM:SS UTC`, or `never`.
    public static func format(_ date: Date?) -> String {
        date.map { PodioTime.format($0) + " UTC" } ?? "never"
    }
}
