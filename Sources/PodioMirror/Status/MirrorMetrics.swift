import CoreMetrics
import Foundation
import PodioAPI

/// What the engine counts, through the swift-metrics API: the backend (Prometheus, for
/// `run --listen`) is chosen by the command line, never here. Names follow Prometheus's
/// conventions; docs/monitoring.md lists them.
public struct MirrorMetrics: Sendable {
    let factory: any MetricsFactory

    /// Metrics sent to `factory`; by default to the process's `MetricsSystem` (nothing, unless an
    /// executable bootstrapped one).
    public init(factory: (any MetricsFactory)? = nil) {
        self.factory = factory ?? MetricsSystem.factory
    }

    public enum Name {
        public static let buildInfo = "podio_mirror_build_info"
        public static let apiCalls = "podio_mirror_api_calls_total"
        public static let quotaUsed = "podio_mirror_quota_used_calls"
        public static let quotaFree = "podio_mirror_quota_free_calls"
        public static let quotaLimit = "podio_mirror_quota_limit_calls"
        public static let itemsWritten = "podio_mirror_items_written_total"
        public static let itemsDeleted = "podio_mirror_items_deleted_total"
        public static let runs = "podio_mirror_runs_total"
        public static let runDuration = "podio_mirror_run_duration_seconds"
        public static let lastSuccess = "podio_mirror_last_success_timestamp_seconds"
        public static let appLastSuccess = "podio_mirror_app_last_success_timestamp_seconds"
        public static let appInfo = "podio_mirror_app_info"
        public static let appLag = "podio_mirror_app_lag_seconds"
        public static let appsGone = "podio_mirror_apps_gone"
        public static let hookEventsReceived = "podio_mirror_hook_events_received_total"
        public static let hookRequestsRefused = "podio_mirror_hook_requests_refused_total"
        public static let hookEventsApplied = "podio_mirror_hook_events_applied_total"
        public static let hookEventsFailed = "podio_mirror_hook_events_failed_total"
        public static let hookEventsPending = "podio_mirror_hook_events_pending"
        public static let hooksMissed = "podio_mirror_hooks_missed_total"
        public static let hooksActive = "podio_mirror_hooks_active"
        public static let reconciliationLag = "podio_mirror_app_reconciliation_lag_seconds"
    }

    /// The label of a quota identity (`user:client:name`, `app:client:id`): its kind and a short
    /// stable hash (FNV-1a), never the user's name or email; `configured` names the user identity
    /// instead (`PODIO_IDENTITY_LABEL`).
    public static func identityLabel(_ credential: String, configured: String? = nil) -> String {
        let kind = credential.split(separator: ":", maxSplits: 1).first.map(String.init) ?? "identity"
        if kind == "user", let configured, !configured.isEmpty { return configured }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in credential.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return kind + "-" + String(String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(8)
    }

    /// The version and commit of this binary (always 1).
    public func buildInfo(version: String, commit: String) {
        Gauge(label: Name.buildInfo, dimensions: [("version", version), ("commit", commit)], factory: factory)
            .record(1)
    }

    /// One answered (or unanswered: code `none`) Podio call of this process; 420s are
    /// `code="420"`.
    func call(tier: QuotaTier, status: Int?) {
        Counter(
            label: Name.apiCalls, dimensions: [("tier", tier.rawValue), ("code", status.map(String.init) ?? "none")],
            factory: factory
        )
        .increment()
    }

    func items(appID: Int, written: Int, deleted: Int) {
        // Both series exist from the app's first sync on (at 0), so rates and alerts see them.
        let app = [("app_id", String(appID))]
        Counter(label: Name.itemsWritten, dimensions: app, factory: factory).increment(by: max(0, written))
        Counter(label: Name.itemsDeleted, dimensions: app, factory: factory).increment(by: max(0, deleted))
    }

    /// A run ended: `outcome` is its status (`succeeded`, `deferred`, `failed`) or `busy` (every
    /// app was held by other runs).
    func run(kind: String, outcome: String, seconds: Double) {
        let dimensions = [("kind", kind), ("outcome", outcome)]
        Counter(label: Name.runs, dimensions: dimensions, factory: factory).increment()
        Timer(label: Name.runDuration, dimensions: dimensions, factory: factory)
            .recordNanoseconds(Int64((max(0, seconds) * 1e9).rounded()))
    }

    /// The quota as the ledger sees it now (all processes sharing the database together);
    /// `identity` is a label from `identityLabel`.
    public func quota(identity: String, tier: String, used: Int, free: Int) {
        let dimensions = [("identity", identity), ("tier", tier)]
        Gauge(label: Name.quotaUsed, dimensions: dimensions, factory: factory).record(used)
        Gauge(label: Name.quotaFree, dimensions: dimensions, factory: factory).record(free)
    }

    /// The quota of a tier per window, as configured (each identity has its own).
    public func quotaLimit(tier: String, calls: Int) {
        Gauge(label: Name.quotaLimit, dimensions: [("tier", tier)], factory: factory).record(calls)
    }

    /// How far behind now an app's mirror is known complete.
    public func appLag(appID: Int, seconds: Double) {
        Gauge(label: Name.appLag, dimensions: [("app_id", String(appID))], factory: factory).record(max(0, seconds))
    }

    /// The app's name and table, to join on `app_id` (always 1).
    public func appInfo(appID: Int, name: String, table: String) {
        Gauge(
            label: Name.appInfo, dimensions: [("app_id", String(appID)), ("name", name), ("table", table)],
            factory: factory
        ).record(1)
    }

    /// When the app's last full (`mode="full"`) and delta (`mode="delta"`) pass succeeded.
    public func appLastSuccess(appID: Int, mode: String, at: Date) {
        Gauge(
            label: Name.appLastSuccess, dimensions: [("app_id", String(appID)), ("mode", mode)], factory: factory
        ).record(at.timeIntervalSince1970)
    }

    /// When the last run of `kind` (sync, resync) succeeded, any process.
    public func lastSuccess(kind: String, at: Date) {
        Gauge(label: Name.lastSuccess, dimensions: [("kind", kind)], factory: factory).record(at.timeIntervalSince1970)
    }

    /// The receiver queued an event of this type.
    public func hookEventReceived(type: String) {
        Counter(label: Name.hookEventsReceived, dimensions: [("type", type)], factory: factory).increment()
    }

    /// The receiver refused a request (`reason`: path, method, content, size, rate, hook, body, database).
    public func hookRequestRefused(reason: String) {
        Counter(label: Name.hookRequestsRefused, dimensions: [("reason", reason)], factory: factory).increment()
    }

    func hookEvents(applied: Int, failed: Int) {
        if applied > 0 {
            Counter(label: Name.hookEventsApplied, dimensions: [], factory: factory).increment(by: applied)
        }
        if failed > 0 { Counter(label: Name.hookEventsFailed, dimensions: [], factory: factory).increment(by: failed) }
    }

    /// Read from the database for `/metrics`: the queue, and per app the changes reconciliation
    /// found that no hook delivered (a count since the hooks were installed, so a counter: set
    /// to the database's figure) and the active hooks.
    public func hooks(pending: Int, missed: [Int: Int], active: [Int: Int]) {
        Gauge(label: Name.hookEventsPending, dimensions: [], factory: factory).record(pending)
        for (app, n) in missed {
            let counter = Counter(label: Name.hooksMissed, dimensions: [("app_id", String(app))], factory: factory)
            counter.reset()
            counter.increment(by: n)
        }
        for (app, n) in active {
            Gauge(label: Name.hooksActive, dimensions: [("app_id", String(app))], factory: factory).record(n)
        }
    }

    /// Seconds since the last reconciliation of an app with active hooks (`MirrorStatus`).
    public func appReconciliationLag(appID: Int, seconds: Double) {
        Gauge(label: Name.reconciliationLag, dimensions: [("app_id", String(appID))], factory: factory).record(seconds)
    }

    public func appsGone(_ count: Int) {
        Gauge(label: Name.appsGone, dimensions: [], factory: factory).record(count)
    }
}
