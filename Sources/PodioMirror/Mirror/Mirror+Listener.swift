import Foundation
import LibPQ
import PodioAPI

/// What `run --listen` asks: the health probe, the metrics' readings, and the webhook
/// receiver's secret, hooks and queue.
extension Mirror {
    /// Throws unless the database answers (within `seconds`).
    public func ping(within seconds: Double) async throws {
        try await run(within: seconds) { try MirrorStore(db: $0).scheduling.ping() }
    }

    /// The status without item counts, and the last success of each kind of run (`/metrics`).
    public func monitoringReport() async throws -> (status: MirrorStatus, lastSuccess: [String: Date]) {
        let settings = self.settings
        let now = clock.now()
        return try await run {
            (
                try MirrorStatus.load(
                    $0, policy: settings.quota, appsRefresh: settings.appsRefresh, now: now, itemCounts: false,
                    reconcileInterval: settings.reconcileInterval),
                try MirrorStore(db: $0).runs.lastSuccessByKind()
            )
        }
    }

    /// The secret of the hook URL (nil until `hooks install` made one).
    public func hookSecret() async throws -> String? {
        try await run(priority: true) { try MirrorStore(db: $0).hooks.hookSecret() }
    }

    /// The recorded hooks: hook id → app id.
    public func hookApps() async throws -> [Int: Int] {
        try await run(priority: true) { try MirrorStore(db: $0).hooks.hookApps() }
    }

    /// Whether a `hook.verify` of a hook id not recorded yet is taken: while an install runs,
    /// and fewer than `limit` such events wait.
    public func acceptsUnknownVerification(limit: Int) async throws -> Bool {
        let now = clock.now()
        return try await run(priority: true) {
            let store = MirrorStore(db: $0)
            return try store.hooks.verifyWindowOpen(now: now) && store.hooks.pendingUnknownVerifications() < limit
        }
    }

    /// Queues a webhook event (committed when this returns).
    public func enqueueHookEvent(_ event: HookEvent) async throws {
        _ = try await run(priority: true) { try MirrorStore(db: $0).hooks.enqueueHookEvent(event) }
    }

    /// The queued webhook events the worker would apply now.
    public func pendingHookEventCount() async throws -> Int {
        try await run { try MirrorStore(db: $0).hooks.pendingHookEventCount() }
    }

    /// The hooks that wait for their verification, and when the next is due.
    public func pendingVerifications() async throws -> (count: Int, due: Date?) {
        try await run { try MirrorStore(db: $0).hooks.pendingVerifications() }
    }
}
