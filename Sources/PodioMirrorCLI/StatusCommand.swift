import ArgumentParser
import Foundation
import LibPQ
import PodioAPI
import PodioMirror

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per app: items, deleted, last full and delta sync, cursor; quota in the window; recent runs.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print the status as one JSON object.")
    var json = false

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.status")
            let settings = try global.settings()
            let db = try await PGConnection.connect(settings.databaseURL, logger: logger)
            defer { db.close() }
            let policy = settings.quota
            let report = try await db.run { db -> StatusReport in
                try SchemaMigrator.requireCurrent(db)
                return try StatusReport.load(db, policy: policy)
            }
            if json {
                try CommandRunner.printJSON(report)
            } else {
                for line in report.lines { CommandRunner.print(line) }
            }
        }
    }
}

/// What `status` shows; never a secret (tokens live in podio_auth and are not read here).
struct StatusReport: Codable {
    struct App: Codable {
        var appID: Int
        var name: String
        var table: String?
        var liveItems: Int
        var deletedItems: Int
        var lastFullSync: Date?
        var lastDeltaSync: Date?
        var highWaterMark: Date?
        var fullLoadInProgressAt: Int?
        var lastError: String?
    }

    struct Quota: Codable {
        var credential: String
        var tier: String
        var used: Int
        var quota: Int
        var allowed: Int
        var free: Int
        var nextFreesAt: Date?
        var pausedUntil: Date?
    }

    struct Run: Codable {
        var runID: Int
        var kind: String
        var status: String
        var startedAt: Date?
        var finishedAt: Date?
        var calls: Int
        var itemsWritten: Int
        var itemsDeleted: Int
        var error: String?
        var deferredUntil: Date?
    }

    var apps: [App] = []
    var quota: [Quota] = []
    var windowSeconds: Double
    var runs: [Run] = []
    var hints: [String] = []

    static func load(_ db: PGConnection, policy: QuotaPolicy) throws -> StatusReport {
        var report = StatusReport(windowSeconds: policy.window)
        report.apps = try db.query(
            """
            SELECT a.app_id, a.name, a.table_name,
                   (SELECT count(*) FROM podio.items i WHERE i.app_id = a.app_id AND i.deleted_at IS NULL) AS live,
                   (SELECT count(*) FROM podio.items i WHERE i.app_id = a.app_id AND i.deleted_at IS NOT NULL) AS deleted,
                   s.last_full_sync_at, s.last_delta_sync_at, s.high_water_mark, s.full_pass_run_id, s.full_pass_offset,
                   s.last_error
            FROM podio.apps a LEFT JOIN podio.sync_state s ON s.app_id = a.app_id ORDER BY a.app_id
            """
        ).rows.map { r in
            App(
                appID: r.int("app_id") ?? 0, name: r.string("name") ?? "", table: r.string("table_name"),
                liveItems: r.int("live") ?? 0, deletedItems: r.int("deleted") ?? 0,
                lastFullSync: r.date("last_full_sync_at"), lastDeltaSync: r.date("last_delta_sync_at"),
                highWaterMark: r.date("high_water_mark"),
                fullLoadInProgressAt: r.int64("full_pass_run_id") != nil ? r.int("full_pass_offset") : nil,
                lastError: r.string("last_error"))
        }
        let now = Date()
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
                   items_written, items_deleted, error, deferred_until
            FROM podio.sync_runs ORDER BY run_id DESC LIMIT 10
            """
        ).rows.map { r in
            Run(
                runID: r.int("run_id") ?? 0, kind: r.string("kind") ?? "", status: r.string("status") ?? "",
                startedAt: r.date("started_at"), finishedAt: r.date("finished_at"), calls: r.int("calls") ?? 0,
                itemsWritten: r.int("items_written") ?? 0, itemsDeleted: r.int("items_deleted") ?? 0,
                error: r.string("error"), deferredUntil: r.date("deferred_until"))
        }
        report.hints = hints(report)
        return report
    }

    static func hints(_ report: StatusReport) -> [String] {
        var hints: [String] = []
        if report.apps.isEmpty && report.runs.isEmpty {
            hints.append("nothing mirrored yet: run `podio-mirror sync`")
        }
        if let last = report.runs.first(where: { $0.status != "running" }), last.status == "failed" {
            if let error = last.error, error.contains("refused the credentials") || error.contains("invalid_grant") {
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

    static func format(_ date: Date?) -> String {
        date.map { PodioTime.format($0) + " UTC" } ?? "never"
    }

    var lines: [String] {
        var out: [String] = []
        out.append("Apps:")
        if apps.isEmpty { out.append("  (none mirrored yet)") }
        for a in apps {
            out.append(
                "  \(a.appID) \(a.name): \(a.liveItems) items, \(a.deletedItems) deleted; full sync \(Self.format(a.lastFullSync)), delta \(Self.format(a.lastDeltaSync)), cursor \(Self.format(a.highWaterMark))\(a.table.map { "; table podio_apps.\($0)" } ?? "")")
        }
        out.append("Quota (window \(DurationParser.describe(windowSeconds))):")
        if quota.isEmpty { out.append("  no calls in the current window") }
        for q in quota {
            var line = "  \(q.credential) \(q.tier): \(q.used) of \(q.allowed) used (quota \(q.quota)), \(q.free) free"
            if let next = q.nextFreesAt { line += ", next frees at \(Self.format(next))" }
            if let paused = q.pausedUntil { line += ", paused until \(Self.format(paused))" }
            out.append(line)
        }
        out.append("Recent runs:")
        if runs.isEmpty { out.append("  none") }
        for r in runs {
            var line = "  #\(r.runID) \(r.kind) \(r.status) at \(Self.format(r.startedAt)): \(r.calls) calls, \(r.itemsWritten) written, \(r.itemsDeleted) deleted"
            if let until = r.deferredUntil { line += ", quota frees at \(Self.format(until))" }
            if let error = r.error { line += " — \(error)" }
            out.append(line)
        }
        if !hints.isEmpty {
            out.append("Needs attention:")
            out += hints.map { "  - \($0)" }
        }
        return out
    }
}
