import Foundation
import LibPQ
import Logging
import PodioAPI

/// The connections, quota ledger and Podio clients of the engine's work: a sync run, the webhook
/// event worker of `run` and the `hooks` commands. Every call goes through the ledger; item
/// writes made outside a recorded run carry no run id (`run_id` 0).
struct EngineSession {
    let db: PGConnection
    let ledgerDB: PGConnection
    let ledger: QuotaLedger
    let access: PodioAccess

    static func open(
        settings: MirrorSettings, transport: any HTTPTransport, clock: any WallClock, metrics: MirrorMetrics,
        maxWait: Double,
        applicationName: String, logger: Logger
    ) async throws -> EngineSession {
        let apiKey = try settings.requireAPIKey()
        let db = try await PGConnection.connect(settings.databaseURL, applicationName: applicationName, logger: logger)
        do {
            try await db.run { db in
                try SchemaMigrator.requireCurrent(db)
                try MirrorStore(db: db).runs.prepareRunSession()
            }
            let ledgerDB = try await PGConnection.connect(
                settings.databaseURL, applicationName: "podio-mirror ledger", logger: logger)
            let ledger = QuotaLedger(
                db: ledgerDB, policy: settings.quota, clock: clock, deadline: clock.now().addingTimeInterval(maxWait),
                requestTimeout: settings.requestTimeout, metrics: metrics,
                logger: logger)
            let access = PodioAccess(
                settings: settings, apiKey: apiKey, transport: transport,
                tokenStore: PostgresTokenStore(
                    db: ledgerDB, coolDown: settings.quota.coolDown, clock: clock, logger: logger),
                gate: ledger, clock: clock, logger: logger)
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

    /// The parts of a drain of the webhook queue outside a recorded run (the event worker,
    /// `hooks install`): the hook worker and what it calls.
    func eventWorker(
        settings: MirrorSettings, clock: any WallClock, metrics: MirrorMetrics, maxWait: Double, logger: Logger
    ) -> HookEventWorker {
        RunParts(
            runID: 0, settings: RunSettings(settings, options: SyncOptions(kind: .sync, maxWait: maxWait)),
            session: self, clock: clock, observer: nil, metrics: metrics, logger: logger
        ).hooks
    }
}
