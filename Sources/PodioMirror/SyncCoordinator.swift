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

    /// How a run takes its apps from the runs it shares the database with.
    public enum Claiming: Sendable {
        /// Every app no other run holds, all at once at the start (a one-shot `sync`: runs of
        /// cron that overlap never split a set of apps; one that finds every app held exits 75).
        case allAtStart
        /// One app at a time, the next in need that no other run holds (the workers of `run`
        /// share the work: an app another worker holds is skipped and the next one taken).
        case oneAtATime
    }

    public var kind: Kind
    /// Apps chosen on the command line (`--app`); nil falls back to `PODIO_APPS`, then to every app.
    public var apps: [Int]?
    public var dryRun = false
    /// How long the run may wait for quota before it defers (seconds).
    public var maxWait: Double = 600
    public var claiming: Claiming = .allAtStart
    /// Asked between pages; when it answers true the run stops after the committed page
    /// (the scheduler's graceful shutdown).
    public var stopRequested: (@Sendable () -> Bool)?

    public init(kind: Kind, apps: [Int]? = nil, dryRun: Bool = false, maxWait: Double = 600, claiming: Claiming = .allAtStart) {
        self.kind = kind
        self.apps = apps
        self.dryRun = dryRun
        self.maxWait = maxWait
        self.claiming = claiming
    }
}

/// Runs a sync: resolves the apps (the cached app list), takes them in order of need under
/// their locks, walks their items, writes pages, detects deletions, records the run in
/// `podio.sync_runs` and each app's pass in `podio.app_passes`.
public final class SyncCoordinator: Sendable {
    let settings: MirrorSettings
    let clock: any LedgerClock
    let logger: Logger
    let transport: any HTTPTransport
    let observer: SyncObserver?
    let metrics: MirrorMetrics

    public init(
        settings: MirrorSettings, transport: any HTTPTransport, clock: any LedgerClock = SystemClock(),
        observer: SyncObserver? = nil, metrics: MirrorMetrics = MirrorMetrics(), logger: Logger
    ) {
        self.settings = settings
        self.transport = transport
        self.clock = clock
        self.observer = observer
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs once. Throws `MirrorError` (deferred, usage, credentials, …) after recording the run.
    public func run(_ options: SyncOptions) async throws -> RunSummary {
        let started = ContinuousClock.now
        let kindName = options.kind.rawValue + (options.dryRun ? "-dry-run" : "")
        do {
            let summary = try await recordedRun(options, kindName: kindName, started: started)
            metrics.run(kind: kindName, outcome: summary.status, seconds: RunContext.seconds(ContinuousClock.now - started))
            return summary
        } catch {
            let outcome: String
            if error is AllAppsHeld {
                outcome = "busy"
            } else {
                outcome = MirrorError(classifying: error).category == .deferred ? "deferred" : "failed"
            }
            metrics.run(kind: kindName, outcome: outcome, seconds: RunContext.seconds(ContinuousClock.now - started))
            throw error
        }
    }

    private func recordedRun(_ options: SyncOptions, kindName: String, started: ContinuousClock.Instant) async throws -> RunSummary {
        let apiKey = try settings.requireAPIKey()
        let db = try await PGConnection.connect(settings.databaseURL, applicationName: "podio-mirror sync", logger: logger)
        defer { db.close() }
        try await db.run { db in
            try SchemaMigrator.requireCurrent(db)
            try MirrorStore(db: db).prepareRunSession()
        }
        let ledgerDB = try await PGConnection.connect(settings.databaseURL, applicationName: "podio-mirror ledger", logger: logger)
        defer { ledgerDB.close() }
        let ledger = QuotaLedger(
            db: ledgerDB, policy: settings.quota, clock: clock,
            deadline: clock.now().addingTimeInterval(options.maxWait), metrics: metrics, logger: logger)
        let access = PodioAccess(
            settings: settings, apiKey: apiKey, transport: transport,
            tokenStore: PostgresTokenStore(db: ledgerDB, coolDown: settings.quota.coolDown, clock: clock, logger: logger),
            gate: ledger, clock: clock, logger: logger)
        let selected: [Int]
        do {
            selected = try await resolveApps(options: options, access: access, db: db, ledger: ledger)
        } catch {
            // Refused credentials and the like still leave a trace for `status`; a deferral
            // (the token endpoint's throttle) is recorded as one.
            let classified = MirrorError(classifying: error)
            let message = access.redact(classified.description)
            let deferredUntil = (error as? any RunDeferral)?.freesAt
            let kind = kindName
            _ = try? await db.run {
                try MirrorStore(db: $0).recordRunThatDidNotStart(
                    kind: kind, message: message, deferredUntil: deferredUntil, category: classified.category.name)
            }
            throw error
        }
        // Apps Podio stopped serving wait for the next refresh of the list; the rest in order of need.
        let now = clock.now()
        let appsRefresh = settings.appsRefresh
        let dryRun = options.dryRun
        let (gone, order) = try await db.run { db -> ([Int: GoneApp], [Int]) in
            let store = MirrorStore(db: db)
            if !dryRun { try store.markSelected(selected, now: now) }
            let gone = try store.goneApps(among: selected, within: appsRefresh, now: now)
            return (gone, try store.appsInNeed(selected.filter { gone[$0] == nil }, fullPasses: options.kind == .resync))
        }
        // The run's apps: taken all at once, or the first one free (the rest as the run goes).
        var claimed = Set<Int>()
        var held: [Int] = []
        if !order.isEmpty {
            switch options.claiming {
            case .allAtStart:
                claimed = Set(try await db.run { try MirrorStore(db: $0).claimAll(order) })
                held = order.filter { !claimed.contains($0) }
            case .oneAtATime:
                for appID in order {
                    if try await db.run({ try MirrorStore(db: $0).claim(appID: appID) }) {
                        claimed.insert(appID)
                        break
                    }
                    held.append(appID)
                }
            }
            if claimed.isEmpty { throw AllAppsHeld(appID: order[0]) }
        }
        let runID = try await db.run { [order] in try MirrorStore(db: $0).startRun(kind: kindName, apps: order) }
        ledger.attach(runID: runID)
        var summary = RunSummary(runID: runID, kind: kindName, status: "running", dryRun: options.dryRun)
        summary.skipped = selected.compactMap { gone[$0].map { SkippedApp(gone: $0) } }
        let store = MirrorStore(db: db)
        let context = RunContext(
            runID: runID, options: options, store: store, ledger: ledger, access: access, clock: clock,
            logger: logger, observer: observer, metrics: metrics, overlap: settings.deltaOverlap,
            sweepInterval: settings.sweepInterval, keepHistory: settings.history)
        // The quota's pace: a delta of every app (each at what its recent deltas took) per
        // identity fits in the window this often. An app synced more recently than that is not
        // waited for when no call is free: a schedule faster than the quota allows then ends
        // its runs with 0, and every app still gets a delta as often as the quota permits.
        let costs = try await db.run { try MirrorStore(db: $0).deltaCosts(order) }
        var identities: [Int: String] = [:]
        var perIdentity: [String: Double] = [:]
        for appID in order {
            guard let identity = try? access.client(for: appID).identity else { continue }
            identities[appID] = identity
            perIdentity[identity, default: 0] += max(1, costs[appID] ?? 1)
        }
        let pace = { (appID: Int) -> Double in
            guard let identity = identities[appID] else { return 0 }
            return self.settings.quota.window * (perIdentity[identity] ?? 1) / Double(self.settings.quota.allowed(.rateLimited))
        }
        var inProgress: Int?
        do {
            try await ledger.prune()
            for appID in order where !held.contains(appID) {
                try Task.checkCancellation()
                if options.stopRequested?() == true { throw SyncStopped() }
                if !claimed.contains(appID) {
                    guard options.claiming == .oneAtATime else { continue }
                    let resync = options.kind == .resync
                    if try await db.run({ try MirrorStore(db: $0).completedSince(appID: appID, runID: runID, fullPass: resync) }) {
                        summary.skipped.append(SkippedApp(appID: appID, reason: .syncedByAnotherRun))
                        continue
                    }
                    guard try await db.run({ try MirrorStore(db: $0).claim(appID: appID) }) else {
                        held.append(appID)
                        continue
                    }
                    claimed.insert(appID)
                }
                if options.kind == .sync, let identity = identities[appID],
                    let fresh = try await freshness(appID: appID, pace: pace(appID), identity: identity, db: db, ledger: ledger)
                {
                    summary.skipped.append(fresh)
                    try await db.run { try MirrorStore(db: $0).release(appID: appID) }
                    continue
                }
                inProgress = appID
                do {
                    let appSummary = try await context.syncApp(appID)
                    summary.apps.append(appSummary)
                    observer?(.appFinished(appSummary))
                } catch let error as AppGoneError {
                    // Not a reason to fail the other apps: marked, reported, skipped until the next refresh.
                    if !options.dryRun {
                        let at = clock.now()
                        try await db.run { try MirrorStore(db: $0).markGone(appID: appID, status: error.status, error: error.description, now: at) }
                    }
                    summary.skipped.append(
                        SkippedApp(gone: GoneApp(appID: appID, status: error.status, error: error.description, since: clock.now())))
                }
                inProgress = nil
                try await db.run { try MirrorStore(db: $0).release(appID: appID) }
            }
            summary.skipped += held.map { SkippedApp(appID: $0, reason: .heldByAnotherRun) }
            // Every app chosen is one Podio does not serve: the choice itself is wrong.
            let goneIDs = summary.skipped.filter { $0.reason == .gone }.map(\.appID)
            if goneIDs.count < selected.count {
                for app in summary.skipped where app.reason == .gone && app.since.map({ $0 >= now }) == true {
                    logger.warning("\(app.detail ?? "app \(app.appID) is gone"); it is skipped until the app list is refreshed")
                }
            }
            if !selected.isEmpty && goneIDs.count == selected.count {
                let first = summary.skipped.first { $0.reason == .gone }
                throw MirrorError(
                    .usage,
                    (first?.detail ?? "app \(goneIDs[0]) is not visible to these credentials")
                        + (goneIDs.count > 1 ? " (and \(goneIDs.count - 1) more apps)" : ""),
                    fix: "it is skipped until the app list is refreshed (PODIO_APPS_REFRESH, or `podio-mirror apps`); "
                        + "check --app and PODIO_APPS against `podio-mirror apps`")
            }
            // Comments last, when every app's items are in: they never delay an item sync.
            if settings.comments && !options.dryRun {
                summary.comments = await context.syncComments(apps: summary.apps.map(\.appID))
            }
            if let directory = settings.filesDirectory, !options.dryRun {
                summary.files = await context.downloadFiles(apps: summary.apps.map(\.appID), directory: directory)
            }
            // Deep history last: the biggest backlog, it takes only what everything else left.
            if !settings.deepHistory.isOff && !options.dryRun {
                summary.deepHistory = await context.syncDeepHistory(apps: summary.apps.map(\.appID), coveredBy: settings.deepHistory)
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

    /// A complete app synced more recently than the quota's pace, when no rate-limited call is
    /// free now: it is skipped (reported), not waited for.
    private func freshness(appID: Int, pace: Double, identity: String, db: PGConnection, ledger: QuotaLedger) async throws
        -> SkippedApp?
    {
        let state = try await db.run { try MirrorStore(db: $0).syncState(appID: appID) }
        guard state.lastFullSyncAt != nil, !state.hasUnfinishedFullPass, let bound = state.highWaterMark else { return nil }
        let age = clock.now().timeIntervalSince(bound)
        guard age < pace, try await ledger.freeCalls(identity: identity, tier: .rateLimited) == 0 else { return nil }
        return SkippedApp(
            appID: appID, reason: .fresh,
            detail: "complete up to \(DurationParser.approximate(age)) ago; the quota allows a delta of each app about every "
                + "\(DurationParser.approximate(pace)) and no call is free now")
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
        _ = try await db.run { [summary] in try MirrorStore(db: $0).finishRun(summary) }
    }

    /// `--app`, then `PODIO_APPS`, then the app-auth apps, then every app the user sees: from
    /// the list cached in PostgreSQL while it is younger than `PODIO_APPS_REFRESH` and was made
    /// for these credentials, else asked of Podio (by one process at a time) and cached.
    private func resolveApps(options: SyncOptions, access: PodioAccess, db: PGConnection, ledger: QuotaLedger) async throws -> [Int] {
        if let apps = options.apps, !apps.isEmpty { return apps }
        if let apps = settings.apps, !apps.isEmpty { return apps }
        if access.userClient == nil { return settings.appTokens.keys.sorted() }
        let identity = access.listIdentity
        let maxAge = settings.appsRefresh
        let clock = self.clock
        if let cached = try await db.run({ try MirrorStore(db: $0).cachedAppList(identity: identity, maxAge: maxAge, now: clock.now()) }) {
            return cached
        }
        // One process lists the apps; one that waited reads what it stored.
        let waitUntil = ContinuousClock.now + .seconds(120)
        var locked = false
        while !locked && ContinuousClock.now < waitUntil {
            locked = try await db.run { try MirrorStore(db: $0).tryLockAppList() }
            if !locked {
                try await Task.sleep(for: .milliseconds(200))
                if let cached = try await db.run({ try MirrorStore(db: $0).cachedAppList(identity: identity, maxAge: maxAge, now: clock.now()) }) {
                    return cached
                }
            }
        }
        do {
            let before = await ledger.snapshot()
            let apps = try await access.visibleApps()
            let calls = await ledger.snapshot().rateLimited - before.rateLimited
            let now = clock.now()
            try await db.run { try MirrorStore(db: $0).storeAppList(apps, identity: identity, callsRateLimited: calls, now: now) }
            logger.info("app list asked of Podio", metadata: ["apps": "\(apps.count)", "calls": "\(calls)"])
            if locked { _ = try? await db.run { try MirrorStore(db: $0).unlockAppList() } }
            return apps.map(\.appID)
        } catch {
            if locked { _ = try? await db.run { try MirrorStore(db: $0).unlockAppList() } }
            throw error
        }
    }
}

/// Every app the run wanted is held by other runs (it exits with the deferred code).
public struct AllAppsHeld: Error, Sendable, CustomStringConvertible {
    /// The first of them in order of need.
    public var appID: Int

    public var description: String { "another podio-mirror run is syncing app \(appID)" }
}

/// The run was asked to stop (a signal to the scheduler) between pages.
struct SyncStopped: Error {}
