import Foundation

/// What one run did, for people (a summary line) and scripts (`--json`).
public struct RunSummary: Sendable, Codable {
    public var runID: Int64
    public var kind: String
    public var status: RunStatus
    public var dryRun: Bool
    public var seconds: Double = 0
    public var callsRateLimited = 0
    public var callsGeneral = 0
    public var secondsWaitedForQuota = 0.0
    public var rateLimitErrors = 0
    public var apps: [AppRunSummary] = []
    /// Apps the run chose but did not sync: held by another run, synced by another run since
    /// this one began, or no longer served by Podio (skipped until the app list is refreshed).
    public var skipped: [SkippedApp] = []
    public var deferredUntil: Date?
    public var error: String?
    /// The kind of error a failed run met (`MirrorError.Category.name`): `credentials`,
    /// `podio`, `database`, `usage`, `deferred`, `other`.
    public var errorCategory: String?
    /// Seconds spent waiting on HTTP, decoding Podio's JSON, and writing to PostgreSQL.
    public var httpSeconds = 0.0
    public var decodeSeconds = 0.0
    public var writeSeconds = 0.0
    /// The comments read after the items (nil when comments are off or the run stopped first).
    public var comments: CommentRunSummary?
    /// The files downloaded after them (nil unless `PODIO_FILES` names a directory).
    public var files: FileRunSummary?
    /// The webhook events the run applied before its apps (nil when none were queued).
    public var hookEvents: HookDrainSummary?
    /// Deep history read after them (nil unless `PODIO_DEEP_HISTORY` covers an app of the run).
    public var deepHistory: DeepHistoryRunSummary?

    public var itemsSeen: Int { apps.reduce(0) { $0 + $1.itemsSeen } }
    public var itemsWritten: Int { apps.reduce(0) { $0 + $1.itemsWritten } }
    public var itemsUnchanged: Int { apps.reduce(0) { $0 + $1.itemsUnchanged } }
    public var itemsDeleted: Int { apps.reduce(0) { $0 + $1.itemsDeleted } }

    enum CodingKeys: String, CodingKey {
        case runID = "run_id", kind, status, dryRun = "dry_run", seconds
        case callsRateLimited = "calls_rate_limited", callsGeneral = "calls_general"
        case secondsWaitedForQuota = "seconds_waited_for_quota", rateLimitErrors = "rate_limit_errors"
        case apps, skipped, deferredUntil = "deferred_until", error, errorCategory = "error_category"
        case httpSeconds = "http_seconds", decodeSeconds = "decode_seconds", writeSeconds = "write_seconds"
        case comments, files, hookEvents = "hook_events", deepHistory = "deep_history"
    }

    /// One line: what ran, how much moved, how many calls.
    public var line: String {
        var text =
            "\(kind)\(dryRun ? " (dry run)" : "") \(status.rawValue): \(apps.count) app\(apps.count == 1 ? "" : "s"), "
        text += "\(itemsSeen) items seen, \(itemsWritten) \(dryRun ? "would be written" : "written"), "
        text += "\(itemsUnchanged) unchanged, \(itemsDeleted) \(dryRun ? "would be deleted" : "deleted"); "
        text += "\(callsRateLimited + callsGeneral) API calls (\(callsRateLimited) rate-limited)"
        if !skipped.isEmpty {
            let held = skipped.filter { $0.reason == .heldByAnotherRun }.count
            let synced = skipped.filter { $0.reason == .syncedByAnotherRun }.count
            let gone = skipped.filter { $0.reason == .gone }.count
            let fresh = skipped.filter { $0.reason == .fresh }.count
            let hooked = skipped.filter { $0.reason == .hooked }.count
            let paced = skipped.filter { $0.reason == .paced }.count
            let parts = [
                hooked > 0 ? "\(hooked) kept fresh by hooks" : nil,
                paced > 0 ? "\(paced) not due yet at the quota's pace" : nil,
                fresh > 0 ? "\(fresh) fresh while the quota is spent" : nil,
                held > 0 ? "\(held) held by another run" : nil, synced > 0 ? "\(synced) synced by another run" : nil,
                gone > 0 ? "\(gone) not visible to these credentials" : nil,
            ].compactMap { $0 }
            text += "; skipped \(skipped.count) app\(skipped.count == 1 ? "" : "s") (\(parts.joined(separator: ", ")))"
        }
        let missed = apps.reduce(0) { $0 + $1.missedByHooks }
        if missed > 0 { text += "; \(missed) change\(missed == 1 ? "" : "s") missed by hooks" }
        if let hookEvents, hookEvents.events > 0 {
            text += "; \(hookEvents.events) hook event\(hookEvents.events == 1 ? "" : "s") applied"
        }
        if secondsWaitedForQuota >= 0.5 {
            text += ", \(DurationParser.describe(secondsWaitedForQuota.rounded())) waiting for quota"
        }
        if let comments, comments.itemsRead > 0 || comments.itemsPending > 0 {
            text += "; comments of \(comments.itemsRead) item\(comments.itemsRead == 1 ? "" : "s") read"
            if comments.itemsPending > 0 { text += ", \(comments.itemsPending) waiting for the next run" }
        }
        if let history = deepHistory, history.itemsRead > 0 || history.itemsPending > 0 {
            let items = history.itemsRead
            text += "; deep history of \(items) item\(items == 1 ? "" : "s") read (\(history.calls) calls)"
            if history.itemsPending > 0 {
                text += ", \(history.itemsPending) waiting for the next runs (~\(history.callsPending) calls)"
            }
        }
        text += String(format: " in %.1fs", seconds)
        return text
    }
}

/// An app a run chose and did not sync, and why.
public struct SkippedApp: Sendable, Codable, Equatable {
    public enum Reason: String, Sendable, Codable {
        /// Another run (a worker, a cron job) held the app's lock.
        case heldByAnotherRun = "held_by_another_run"
        /// Another run completed a pass of the app after this one began.
        case syncedByAnotherRun = "synced_by_another_run"
        /// Podio answered 403, 404 or 410 for it: skipped until the app list is refreshed.
        case gone
        /// Synced more recently than the quota's pace allows again, and no call was free:
        /// the next run takes it.
        case fresh
        /// Synced more recently than the quota's pace less half the schedule's interval: a later
        /// run of the schedule takes it, so that turns are spread over the window (`TurnPacer`).
        case paced
        /// Its hooks keep it fresh: its reconciliation (a delta) is not due yet.
        case hooked
    }

    public var appID: Int
    public var reason: Reason
    /// For a gone app: Podio's answer, and since when.
    public var detail: String?
    public var since: Date?

    public init(appID: Int, reason: Reason, detail: String? = nil, since: Date? = nil) {
        self.appID = appID
        self.reason = reason
        self.detail = detail
        self.since = since
    }

    init(gone: GoneApp) {
        self.init(appID: gone.appID, reason: .gone, detail: gone.error, since: gone.since)
    }

    enum CodingKeys: String, CodingKey {
        case appID = "app_id", reason, detail, since
    }
}

/// What one run did for one app.
public struct AppRunSummary: Sendable, Codable {
    public var appID: Int
    public var name: String
    public var mode: PassMode
    public var pages = 0
    public var calls = 0
    public var itemsSeen = 0
    public var itemsWritten = 0
    public var itemsUnchanged = 0
    public var itemsDeleted = 0
    public var activityRefreshed = 0
    /// `full pass`, `id sweep`, or nil when no deletion check ran.
    public var deletionsFoundBy: String?
    /// Why no deletion was marked although a full pass or sweep ran (it saw less than Podio
    /// counted), or nil.
    public var deletionsWithheld: String?
    public var fieldsChanged = false
    public var warnings = 0
    /// Items this reconciliation found changed that no hook delivered (the app had active hooks).
    public var missedByHooks = 0

    enum CodingKeys: String, CodingKey {
        case missedByHooks = "missed_by_hooks"
        case appID = "app_id", name, mode, pages, calls
        case itemsSeen = "items_seen", itemsWritten = "items_written", itemsUnchanged = "items_unchanged"
        case itemsDeleted = "items_deleted", activityRefreshed = "activity_refreshed"
        case deletionsFoundBy = "deletions_found_by", deletionsWithheld = "deletions_withheld"
        case fieldsChanged = "fields_changed", warnings
    }
}

/// Progress of a run, for the command line (one line per app and page on a terminal).
public enum SyncEvent: Sendable {
    case plan(appID: Int, name: String, mode: PassMode, estimatedCalls: Int?, etaSeconds: Double?)
    case page(appID: Int, mode: PassMode, itemsDone: Int, itemsTotal: Int, calls: Int)
    case appFinished(AppRunSummary)
    /// What deep history will cost, before it spends anything (`sync` prints it).
    case deepHistoryPlan(DeepHistoryPlan)
}

/// Receives progress events.
public typealias SyncObserver = @Sendable (SyncEvent) -> Void
