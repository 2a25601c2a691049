import Foundation
import LibPQ
import Logging
import PodioAPI

/// The connections, quota ledger and Podio clients of work outside a recorded run: the webhook
/// event worker of `run` and the `hooks` commands. Every call goes through the ledger like a
/// run's; item writes made here carry no run id (`run_id` 0).
struct EngineSession {
    let db: PGConnection
    let ledgerDB: PGConnection
    let ledger: QuotaLedger
    let access: PodioAccess

    static func open(
        settings: MirrorSettings, transport: any HTTPTransport, clock: any LedgerClock, metrics: MirrorMetrics,
        maxWait: Double,
        applicationName: String, logger: Logger
    ) async throws -> EngineSession {
        let apiKey = try settings.requireAPIKey()
        let db = try await PGConnection.connect(settings.databaseURL, applicationName: applicationName, logger: logger)
        do {
            try await db.run { db in
                try SchemaMigrator.requireCurrent(db)
                try db.execute("SET jit = off")
            }
            let ledgerDB = try await PGConnection.connect(
                settings.databaseURL, applicationName: "podio-mirror ledger", logger: logger)
            let ledger = QuotaLedger(
                db: ledgerDB, policy: settings.quota, clock: clock, deadline: clock.now().addingTimeInterval(maxWait),
                metrics: metrics,
                logger: logger)
            let access = PodioAccess(
                settings: settings, apiKey: apiKey, transport: transport,
                tokenStore: PostgresTokenStore(db: ledgerDB, coolDown: settings.quota.coolDown, logger: logger),
                gate: ledger,
                logger: logger)
            return EngineSession(db: db, ledgerDB: ledgerDB, ledger: ledger, access: access)
        } catch {
            db.close()
            throw error
        }
    }

    func close() {
        db.close()
        ledgerDB.close()
    }

    /// A run context without a recorded run, for the event worker.
    func context(
        settings: MirrorSettings, clock: any LedgerClock, metrics: MirrorMetrics, maxWait: Double, logger: Logger
    ) -> RunContext {
        let context = RunContext(
            runID: 0, options: SyncOptions(kind: .sync, maxWait: maxWait), store: MirrorStore(db: db), ledger: ledger,
            access: access,
            clock: clock, logger: logger, observer: nil, metrics: metrics, overlap: settings.deltaOverlap,
            sweepInterval: settings.sweepInterval, keepHistory: settings.history)
        context.hookGrace = settings.hookGrace
        context.hookDeltaThreshold = settings.hookDeltaThreshold
        context.commentsEnabled = settings.comments
        return context
    }
}

extension SyncCoordinator {
    /// Applies the queued webhook events (the event worker of `run`): nothing when the queue is
    /// empty (one query, no call to Podio) or another process is draining it.
    public func drainHookEvents(maxWait: Double = 60) async throws -> HookDrainSummary {
        let pending = try await PGConnection.connect(
            settings.databaseURL, applicationName: "podio-mirror hooks", logger: logger)
        let count = try await pending.run { try MirrorStore(db: $0).pendingHookEventCount() }
        pending.close()
        guard count > 0 else { return HookDrainSummary() }
        let session = try await EngineSession.open(
            settings: settings, transport: transport, clock: clock, metrics: metrics, maxWait: maxWait,
            applicationName: "podio-mirror hooks", logger: logger)
        defer { session.close() }
        let context = session.context(
            settings: settings, clock: clock, metrics: metrics, maxWait: maxWait, logger: logger)
        return await context.drainHookEvents()
    }
}
