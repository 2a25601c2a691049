import CoreMetrics
import Foundation
import PodioAPI

/// What the engine counts, through the swift-metrics API: the backend (Prometheus, for
/// `run --listen`) is chosen by the command line, never here. Names follow Prometheus's
/// conventions; README, "Metrics", lists them.
public struct MirrorMetrics: Sendable {
    let factory: any MetricsFactory

    /// Metrics sent to `factory`; by default to the process's `MetricsSystem` (nothing, unless an
    /// executable bootstrapped one).
    public init(factory: (any MetricsFactory)? = nil) {
        self.factory = factory ?? MetricsSystem.factory
    }

    public enum Name {
        public static let apiCalls = "podio_mirror_api_calls_total"
        public static let rateLimitErrors = "podio_mirror_api_rate_limit_errors_total"
        public static let quotaUsed = "podio_mirror_quota_used_calls"
        public static let quotaFree = "podio_mirror_quota_free_calls"
        public static let itemsWritten = "podio_mirror_items_written_total"
        public static let itemsDeleted = "podio_mirror_items_deleted_total"
        public static let runs = "podio_mirror_runs_total"
        public static let runDuration = "podio_mirror_run_duration_seconds"
        public static let appLag = "podio_mirror_app_lag_seconds"
        public static let appsGone = "podio_mirror_apps_gone"
        public static let hookEventsReceived = "podio_mirror_hook_events_received_total"
        public static let hookRequestsRefused = "podio_mirror_hook_requests_refused_total"
        public static let hookEventsApplied = "podio_mirror_hook_events_applied_total"
        public static let hookEventsFailed = "podio_mirror_hook_events_failed_total"
        public static let hookEventsPending = "podio_mirror_hook_events_pending"
        public static let hooksMissed = "podio_mirror_hooks_missed"
        public static let hooksActive = "podio_mirror_hooks_active"
    }

    /// One answered (or unanswered: status `none`) Podio call of this process.
    func call(tier: QuotaTier, status: Int?) {
        Counter(
            label: Name.apiCalls, dimensions: [("tier", tier.rawValue), ("status", status.map(String.init) ?? "none")],
            factory: factory
        )
        .increment()
        if status == 420 {
            Counter(label: Name.rateLimitErrors, dimensions: [("tier", tier.rawValue)], factory: factory).increment()
        }
    }

    func items(appID: Int, written: Int, deleted: Int) {
        let app = [("app_id", String(appID))]
        if written > 0 { Counter(label: Name.itemsWritten, dimensions: app, factory: factory).increment(by: written) }
        if deleted > 0 { Counter(label: Name.itemsDeleted, dimensions: app, factory: factory).increment(by: deleted) }
    }

    /// A run ended: `outcome` is its status (`succeeded`, `deferred`, `failed`) or `busy` (every
    /// app was held by other runs).
    func run(kind: String, outcome: String, seconds: Double) {
        let dimensions = [("kind", kind), ("outcome", outcome)]
        Counter(label: Name.runs, dimensions: dimensions, factory: factory).increment()
        Timer(label: Name.runDuration, dimensions: dimensions, factory: factory)
            .recordNanoseconds(Int64((max(0, seconds) * 1e9).rounded()))
    }

    /// The quota as the ledger sees it now (all processes sharing the database together).
    public func quota(identity: String, tier: String, used: Int, free: Int) {
        let dimensions = [("identity", identity), ("tier", tier)]
        Gauge(label: Name.quotaUsed, dimensions: dimensions, factory: factory).record(used)
        Gauge(label: Name.quotaFree, dimensions: dimensions, factory: factory).record(free)
    }

    /// How far behind now an app's mirror is known complete.
    public func appLag(appID: Int, seconds: Double) {
        Gauge(label: Name.appLag, dimensions: [("app_id", String(appID))], factory: factory).record(max(0, seconds))
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
    /// found that no hook delivered (since the hooks were installed) and the active hooks.
    public func hooks(pending: Int, missed: [Int: Int], active: [Int: Int]) {
        Gauge(label: Name.hookEventsPending, dimensions: [], factory: factory).record(pending)
        for (app, n) in missed {
            Gauge(label: Name.hooksMissed, dimensions: [("app_id", String(app))], factory: factory).record(n)
        }
        for (app, n) in active {
            Gauge(label: Name.hooksActive, dimensions: [("app_id", String(app))], factory: factory).record(n)
        }
    }

    public func appsGone(_ count: Int) {
        Gauge(label: Name.appsGone, dimensions: [], factory: factory).record(count)
    }
}
