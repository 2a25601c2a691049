import Foundation
import LibPQ
import Logging
import PodioAPI

/// Options of one `sync` or `resync` run.
public struct SyncOptions: Sendable {
    public enum Kind: String, Sendable {
        /// Incremental: a delta per app; an app never fully synced gets a full load.
        case sync
        /// A full re-read of the selected apps, with deletion detection.
        case resync
    }

    public var kind: Kind
    /// Apps chosen on the command line (`--app`); nil falls back to `PODIO_APPS`, then to every app.
    public var apps: [Int]?
    public var dryRun = false
    /// How long the run may wait for quota before it defers (seconds).
    public var maxWait: Double = 600
    /// Asked between pages; when it answers true the run stops after the committed page
    /// (the scheduler's graceful shutdown).
    public var stopRequested: (@Sendable () -> Bool)?

    public init(kind: Kind, apps: [Int]? = nil, dryRun: Bool = false, maxWait: Double = 600) {
        self.kind = kind
        self.apps = apps
        self.dryRun = dryRun
        self.maxWait = maxWait
    }
}

/// Runs a sync: takes the run lock, walks the selected apps and their items, writes pages,
/// detects deletions, records the run in `podio.sync_runs`.
public final class SyncCoordinator: Sendable {
    let settings: MirrorSettings
    let clock: any LedgerClock
    let logger: Logger
    let transport: any HTTPTransport
    let observer: SyncObserver?

    public init(
        settings: MirrorSettings, transport: any HTTPTransport, clock: any LedgerClock = SystemClock(),
        observer: SyncObserver? = nil, logger: Logger
    ) {
        self.settings = settings
        self.transport = transport
        self.clock = clock
        self.observer = observer
        self.logger = logger
    }

    /// Runs once. Throws `MirrorError` (deferred, usage, credentials, …) after recording the run.
    public func run(_ options: SyncOptions) async throws -> RunSummary {
        let started = ContinuousClock.now
        let apiKey = try settings.requireAPIKey()
        let db = try await PGConnection.connect(settings.databaseURL, applicationName: "podio-mirror sync", logger: logger)
        defer { db.close() }
        try await db.run { db in
            try SchemaMigrator.requireCurrent(db)
            // Page statements are short and many: JIT compilation would cost more than it saves.
            try db.execute("SET jit = off")
            // Items' raw JSON is compressed with lz4 rather than pglz when the server has lz4
            // and nobody chose a method: a full load is ~17% faster (pglz costs more than the
            // rest of storing the JSON), for ~12% more space. Readers see no difference.
            try db.query(
                """
                SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings
                WHERE name = 'default_toast_compression' AND source = 'default' AND 'lz4' = ANY (enumvals)
                """)
        }
        let kindName = options.kind.rawValue + (options.dryRun ? "-dry-run" : "")
        let ledgerDB = try await PGConnection.connect(settings.databaseURL, applicationName: "podio-mirror ledger", logger: logger)
        defer { ledgerDB.close() }
        let ledger = QuotaLedger(
            db: ledgerDB, policy: settings.quota, clock: clock,
            deadline: clock.now().addingTimeInterval(options.maxWait), logger: logger)
        let access = PodioAccess(
            settings: settings, apiKey: apiKey, transport: transport,
            tokenStore: PostgresTokenStore(db: ledgerDB, coolDown: settings.quota.coolDown, logger: logger),
            gate: ledger, logger: logger)
        let apps: [Int]
        do {
            apps = try await resolveApps(options: options, access: access)
        } catch {
            // Refused credentials and the like still leave a trace for `status`; a deferral
            // (the token endpoint's throttle) is recorded as one.
            let classified = MirrorError(classifying: error)
            let message = access.redact(classified.description)
            let deferredUntil = (error as? any RunDeferral)?.freesAt
            _ = try? await db.run { db in
                try db.query(
                    """
                    INSERT INTO podio.sync_runs (kind, status, finished_at, host, pid, error, deferred_until, error_category)
                    VALUES ($1, $5, now(), $2, $3, $4, $6, $7)
                    """,
                    [kindName, ProcessInfo.processInfo.hostName, Int(ProcessInfo.processInfo.processIdentifier), message,
                     deferredUntil == nil ? "failed" : "deferred", deferredUntil, classified.category.name])
            }
            throw error
        }
        // The run lock: one session lock per app, all taken before anything is written.
        let busy: Int? = try await db.run { db in
            for appID in apps where try !db.tryAdvisoryLock(LockKeys.app(appID)) {
                try db.query("SELECT pg_advisory_unlock_all()")
                return appID
            }
            return nil
        }
        if let busy {
            throw MirrorError(
                .deferred, "another podio-mirror run is syncing app \(busy)",
                fix: "this run stops here; the next scheduled run will sync")
        }
        let runID: Int64 = try await db.run { db in
            // A run left 'running' whose database session is gone was interrupted (killed, crashed).
            try db.query(
                """
                UPDATE podio.sync_runs SET status = 'failed', finished_at = now(),
                    error = coalesce(error, 'interrupted: the process ended before the run finished')
                WHERE status = 'running'
                  AND (backend_pid IS NULL OR backend_pid NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL))
                """)
            return try db.query(
                """
                INSERT INTO podio.sync_runs (kind, status, host, pid, backend_pid, apps)
                VALUES ($1, 'running', $2, $3, pg_backend_pid(), $4::bigint[]) RETURNING run_id
                """,
                [kindName, ProcessInfo.processInfo.hostName, Int(ProcessInfo.processInfo.processIdentifier), apps]
            ).first?.int64("run_id") ?? 0
        }
        ledger.attach(runID: runID)
        var summary = RunSummary(runID: runID, kind: kindName, status: "running", dryRun: options.dryRun)
        let store = MirrorStore(db: db)
        let context = RunContext(
            runID: runID, options: options, store: store, ledger: ledger, access: access, clock: clock,
            logger: logger, observer: observer, overlap: settings.deltaOverlap,
            sweepInterval: settings.sweepInterval, keepHistory: settings.history)
        var inProgress: Int?
        do {
            try await ledger.prune()
            for appID in apps {
                try Task.checkCancellation()
                inProgress = appID
                let appSummary = try await context.syncApp(appID)
                inProgress = nil
                summary.apps.append(appSummary)
                observer?(.appFinished(appSummary))
            }
            // Comments last, when every app's items are in: they never delay an item sync.
            if settings.comments && !options.dryRun {
                summary.comments = await context.syncComments(apps: apps)
            }
            if let directory = settings.filesDirectory, !options.dryRun {
                summary.files = await context.downloadFiles(apps: apps, directory: directory)
            }
            summary.status = "succeeded"
        } catch is SyncStopped {
            summary.status = "deferred"
            summary.error = "stopped by a signal after the last committed page; the next run continues"
            summary.apps.append(contentsOf: context.partial())
        } catch let deferral as any RunDeferral {
            summary.status = "deferred"
            summary.deferredUntil = deferral.freesAt
            summary.error = access.redact(deferral.description)
            summary.apps.append(contentsOf: context.partial())
        } catch {
            let classified = MirrorError(classifying: error)
            summary.status = "failed"
            summary.error = access.redact(classified.description)
            summary.errorCategory = classified.category.name
            summary.apps.append(contentsOf: context.partial())
            // The app it failed on keeps the error until one of its syncs succeeds (`status`).
            if let appID = inProgress {
                let message = summary.error ?? "failed"
                _ = try? await db.run { try MirrorStore(db: $0).recordAppError(appID: appID, message) }
            }
            summary.writeSeconds = context.writeSeconds
            try? await finish(db: db, ledger: ledger, access: access, summary: &summary, started: started)
            throw error
        }
        summary.writeSeconds = context.writeSeconds
        try await finish(db: db, ledger: ledger, access: access, summary: &summary, started: started)
        if summary.status == "deferred" && summary.deferredUntil == nil {
            throw MirrorError(.deferred, summary.error ?? "stopped")
        }
        if let until = summary.deferredUntil {
            throw MirrorError(
                .deferred,
                "deferred: \(summary.error ?? "the quota is used up"); progress is saved",
                fix: "the next run after \(PodioTime.format(until)) UTC continues where this one stopped")
        }
        return summary
    }

    private func finish(
        db: PGConnection, ledger: QuotaLedger, access: PodioAccess, summary: inout RunSummary, started: ContinuousClock.Instant
    ) async throws {
        let counts = await ledger.snapshot()
        summary.callsRateLimited = counts.rateLimited
        summary.callsGeneral = counts.general
        summary.secondsWaitedForQuota = counts.secondsWaited
        summary.rateLimitErrors = counts.rateLimitErrors
        let stats = access.stats
        summary.httpSeconds = stats.httpSeconds
        summary.decodeSeconds = stats.decodeSeconds
        summary.seconds = RunContext.seconds(ContinuousClock.now - started)
        let s = summary
        let deletedBy = Set(s.apps.compactMap(\.deletionsFoundBy)).sorted().joined(separator: ", ")
        let withheld = s.apps.compactMap { app in app.deletionsWithheld.map { "app \(app.appID): \($0)" } }.joined(separator: "; ")
        _ = try await db.run { db in
            try db.query(
                """
                UPDATE podio.sync_runs SET status = $2, finished_at = now(), apps = $3::bigint[],
                    calls_rate_limited = $4, calls_general = $5, items_seen = $6, items_written = $7,
                    items_unchanged = $8, items_deleted = $9, deletions_found_by = $10, deferred_until = $11, error = $12,
                    deletions_withheld = $13, error_category = $14
                WHERE run_id = $1
                """,
                [s.runID, s.status, s.apps.map(\.appID), s.callsRateLimited, s.callsGeneral, s.itemsSeen,
                 s.itemsWritten, s.itemsUnchanged, s.itemsDeleted, deletedBy.isEmpty ? nil : deletedBy,
                 s.deferredUntil, s.error, withheld.isEmpty ? nil : withheld, s.errorCategory])
        }
    }

    /// `--app`, then `PODIO_APPS`, then the app-auth apps, then every app the user sees.
    private func resolveApps(options: SyncOptions, access: PodioAccess) async throws -> [Int] {
        if let apps = options.apps, !apps.isEmpty { return apps }
        if let apps = settings.apps, !apps.isEmpty { return apps }
        if access.userClient == nil { return settings.appTokens.keys.sorted() }
        return try await access.visibleApps().map(\.appID)
    }
}

/// The run was asked to stop (a signal to the scheduler) between pages.
struct SyncStopped: Error {}
