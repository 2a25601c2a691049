import Foundation
import LibPQ
import Logging
import PodioAPI

/// Runs a sync: resolves the apps (the cached app list), takes them in order of need under
/// their locks, walks their items, writes pages, detects deletions, records the run in
/// `podio.sync_runs` and each app's pass in `podio.app_passes`.
public final class SyncCoordinator: Sendable {
    let settings: MirrorSettings
    let clock: any WallClock
    let logger: Logger
    let transport: any HTTPTransport
    let observer: SyncObserver?
    let metrics: MirrorMetrics

    public init(
        settings: MirrorSettings, transport: any HTTPTransport, clock: any WallClock = SystemClock(),
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
        let started = Stopwatch()
        let kindName = options.kind.rawValue + (options.dryRun ? "-dry-run" : "")
        do {
            let summary = try await recordedRun(options, kindName: kindName, started: started)
            metrics.run(
                kind: kindName, outcome: summary.status.rawValue, seconds: started.seconds)
            return summary
        } catch {
            let outcome: String
            if error is AllAppsHeld {
                outcome = "busy"
            } else {
                let deferred = MirrorError(classifying: error).category == .deferred
                outcome = (deferred ? RunStatus.deferred : RunStatus.failed).rawValue
            }
            metrics.run(kind: kindName, outcome: outcome, seconds: started.seconds)
            throw error
        }
    }

    /// One run, step by step: the session, the ledger and the clients, the apps (resolved, in
    /// order of need, claimed), the run's row, each app's sync, the extras (comments, files, deep history),
    /// the end. Every failure after the run started is recorded in its row.
    private func recordedRun(_ options: SyncOptions, kindName: String, started: Stopwatch) async throws
        -> RunSummary
    {
        let session = try await EngineSession.open(
            settings: settings, transport: transport, clock: clock, metrics: metrics, maxWait: options.maxWait,
            applicationName: "podio-mirror sync", logger: logger)
        defer { session.close() }
        let (db, ledger, access) = (session.db, session.ledger, session.access)
        let selected = try await resolveAppsOrRecord(
            options: options, kindName: kindName, access: access, db: db, ledger: ledger)
        var plan = try await plan(selected, options: options, db: db)
        try await claimAtStart(&plan, options: options, db: db)
        let runID = try await db.run { [order = plan.order] in
            try MirrorStore(db: $0).runs.startRun(kind: kindName, apps: order)
        }
        ledger.attach(runID: runID)
        var summary = RunSummary(runID: runID, kind: kindName, status: .running, dryRun: options.dryRun)
        summary.skipped = plan.selected.compactMap { plan.gone[$0].map { SkippedApp(gone: $0) } }
        let parts = RunParts(
            runID: runID, settings: RunSettings(settings, options: options), session: session, clock: clock,
            observer: observer, metrics: metrics, logger: logger)
        let context = parts.walks
        // Webhook events waiting in the queue are applied first (a `sync` drains them too;
        // under `run` the event worker usually has already).
        if !options.dryRun {
            let drained = await parts.hooks.drainHookEvents()
            if drained.events > 0 || drained.failed > 0 { summary.hookEvents = drained }
        }
        if options.reconcileInterval != nil {
            plan.hooked = try await db.run { try MirrorStore(db: $0).hooks.appsWithActiveHooks() }
        }
        let pacer = try await turnPacer(plan, options: options, access: access, db: db)
        var inProgress: Int?
        do {
            try await ledger.prune()
            try await syncApps(
                &plan, runID: runID, options: options, context: context, pacer: pacer, summary: &summary,
                inProgress: &inProgress, db: db, ledger: ledger)
            try checkSomeAppIsServed(plan, summary: summary)
            await syncExtras(&summary, parts: parts, options: options)
            summary.status = .succeeded
        } catch is SyncStopped {
            summary.status = .deferred
            summary.error = "stopped by a signal after the last committed page; the next run continues"
            summary.apps.append(contentsOf: context.partial())
        } catch let deferral as any RunDeferral {
            summary.status = .deferred
            summary.deferredUntil = deferral.freesAt
            summary.error = access.redact(deferral.description)
            summary.apps.append(contentsOf: context.partial())
        } catch {
            let classified = MirrorError(classifying: error)
            summary.status = .failed
            summary.error = access.redact(classified.description)
            summary.errorCategory = classified.category.name
            summary.apps.append(contentsOf: context.partial())
            // The app it failed on keeps the error until one of its syncs succeeds (`status`).
            if let appID = inProgress {
                let message = summary.error ?? "failed"
                _ = try? await db.run { try MirrorStore(db: $0).items.recordAppError(appID: appID, message) }
            }
            summary.writeSeconds = parts.pages.writeSeconds
            try? await finish(db: db, ledger: ledger, access: access, summary: &summary, started: started)
            throw error
        }
        summary.writeSeconds = parts.pages.writeSeconds
        try await finish(db: db, ledger: ledger, access: access, summary: &summary, started: started)
        if summary.status == .deferred && summary.deferredUntil == nil {
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

    /// Each app in order: taken (when the run takes them one at a time), skipped when fresh
    /// enough and no call is free, synced, released. An app Podio no longer serves is marked
    /// gone and the run goes on.
    private func syncApps(
        _ plan: inout RunPlan, runID: Int64, options: SyncOptions, context: RunContext,
        pacer: TurnPacer, summary: inout RunSummary, inProgress: inout Int?,
        db: PGConnection, ledger: QuotaLedger
    ) async throws {
        for appID in plan.order where !plan.held.contains(appID) {
            try Task.checkCancellation()
            if options.stopRequested?() == true { throw SyncStopped() }
            if !plan.claimed.contains(appID) {
                guard options.claiming == .oneAtATime else { continue }
                let resync = options.kind == .resync
                if try await db.run({
                    try MirrorStore(db: $0).scheduling.completedSince(appID: appID, runID: runID, fullPass: resync)
                }) {
                    summary.skipped.append(SkippedApp(appID: appID, reason: .syncedByAnotherRun))
                    continue
                }
                guard try await db.run({ try MirrorStore(db: $0).scheduling.claim(appID: appID) }) else {
                    plan.held.append(appID)
                    continue
                }
                plan.claimed.insert(appID)
            }
            if options.kind == .sync, let notDue = try await notDue(appID, pacer: pacer, db: db, ledger: ledger) {
                summary.skipped.append(notDue)
                try await db.run { try MirrorStore(db: $0).scheduling.release(appID: appID) }
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
                    try await db.run {
                        try MirrorStore(db: $0).scheduling.markGone(
                            appID: appID, status: error.status, error: error.description, now: at)
                    }
                }
                summary.skipped.append(
                    SkippedApp(
                        gone: GoneApp(appID: appID, status: error.status, error: error.description, since: clock.now()))
                )
            }
            inProgress = nil
            try await db.run { try MirrorStore(db: $0).scheduling.release(appID: appID) }
        }
        summary.skipped += plan.held.map { SkippedApp(appID: $0, reason: .heldByAnotherRun) }
    }

    /// Apps newly found gone are warned about; when every app chosen is one Podio does not
    /// serve, the choice itself is wrong (a usage error).
    private func checkSomeAppIsServed(_ plan: RunPlan, summary: RunSummary) throws {
        let goneIDs = summary.skipped.filter { $0.reason == .gone }.map(\.appID)
        if goneIDs.count < plan.selected.count {
            for app in summary.skipped where app.reason == .gone && app.since.map({ $0 >= plan.at }) == true {
                logger.warning(
                    "\(app.detail ?? "app \(app.appID) is gone"); it is skipped until the app list is refreshed")
            }
        }
        if !plan.selected.isEmpty && goneIDs.count == plan.selected.count {
            let first = summary.skipped.first { $0.reason == .gone }
            throw MirrorError(
                .usage,
                (first?.detail ?? "app \(goneIDs[0]) is not visible to these credentials")
                    + (goneIDs.count > 1 ? " (and \(goneIDs.count - 1) more apps)" : ""),
                fix: "it is skipped until the app list is refreshed (PODIO_APPS_REFRESH, or `podio-mirror apps`); "
                    + "check --app and PODIO_APPS against `podio-mirror apps`")
        }
    }

    /// What comes after every app's items are in, on the general tier's leftovers: comments,
    /// then file downloads, then deep history. They never delay an item sync.
    private func syncExtras(_ summary: inout RunSummary, parts: RunParts, options: SyncOptions) async {
        guard !options.dryRun else { return }
        let synced = summary.apps.map(\.appID)
        if let comments = parts.comments {
            summary.comments = await comments.syncComments(apps: synced)
        }
        if let files = parts.files {
            summary.files = await files.downloadFiles(apps: synced)
        }
        // Deep history last: the biggest backlog, it takes only what everything else left.
        if let deepHistory = parts.deepHistory {
            summary.deepHistory = await deepHistory.syncDeepHistory(apps: synced)
        }
    }

    /// The pacer of the run's turns: the quota's pace of each app's identity, and the
    /// schedule's interval (`run --every`; for a `sync` that names no app, the spacing of the
    /// last runs: cron).
    private func turnPacer(_ plan: RunPlan, options: SyncOptions, access: PodioAccess, db: PGConnection)
        async throws -> TurnPacer
    {
        let order = plan.order
        let now = clock.now()
        let (costs, schedule) = try await db.run { db in
            (
                try MirrorStore(db: db).scheduling.deltaCosts(order),
                options.every == nil && options.apps == nil ? try MirrorStatus.schedule(db, now: now) : nil
            )
        }
        var identities: [Int: String] = [:]
        for appID in order {
            if let identity = try? access.client(for: appID).identity { identities[appID] = identity }
        }
        // Cron runs a minute apart at the most: runs closer than that are someone's own, not a schedule.
        let cron = schedule.flatMap { $0.source == .recentRuns && $0.intervalSeconds < 60 ? nil : $0.intervalSeconds }
        return TurnPacer(
            order: order, identities: identities, costs: costs, hooked: Set(plan.hooked.keys),
            reconcileInterval: options.reconcileInterval, window: settings.quota.window,
            allowed: settings.quota.allowed(.rateLimited), interval: options.every ?? cron)
    }

    /// Why the app's turn is not due in this run (`TurnPacer`), or nil.
    private func notDue(_ appID: Int, pacer: TurnPacer, db: PGConnection, ledger: QuotaLedger) async throws
        -> SkippedApp?
    {
        let state = try await db.run { try MirrorStore(db: $0).items.syncState(appID: appID) }
        return try await pacer.skip(appID: appID, state: state, now: clock.now()) {
            try await ledger.freeCalls(identity: $0, tier: .rateLimited)
        }
    }

    private func finish(
        db: PGConnection, ledger: QuotaLedger, access: PodioAccess, summary: inout RunSummary,
        started: Stopwatch
    ) async throws {
        let counts = await ledger.snapshot()
        summary.callsRateLimited = counts.rateLimited
        summary.callsGeneral = counts.general
        summary.secondsWaitedForQuota = counts.secondsWaited
        summary.rateLimitErrors = counts.rateLimitErrors
        let stats = access.stats
        summary.httpSeconds = stats.httpSeconds
        summary.decodeSeconds = stats.decodeSeconds
        summary.seconds = started.seconds
        _ = try await db.run { [summary] in try MirrorStore(db: $0).runs.finishRun(summary) }
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
