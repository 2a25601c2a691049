import Foundation
import LibPQ
import Logging
import PodioAPI

/// The state of one run while it walks its apps: full passes, deltas and ID sweeps, each page
/// written through the run's `PageWriter`.
final class RunContext {
    let runID: Int64
    let settings: RunSettings
    var options: SyncOptions { settings.options }
    let store: MirrorStore
    let pages: PageWriter
    let ledger: QuotaLedger
    let access: PodioAccess
    let clock: any WallClock
    let logger: Logger
    let observer: SyncObserver?
    let metrics: MirrorMetrics
    /// When the run began: its passes include everything Podio stamped up to this second.
    let startedAt: Date
    /// The summary of the app being synced (the walks add to it).
    var current: AppRunSummary?
    /// The definition read in this run (a dry run writes it with every page it rolls back).
    private var definition: PodioApp?
    /// Field ids items carry that the app's definition lacks even after reading it again:
    /// warned about once per app and run.
    private var unknownFieldsWarned: Set<Int> = []
    /// During a delta of an app with active hooks: which changes count as missed by hooks.
    var hookWatch: HookWatch?

    init(
        runID: Int64, settings: RunSettings, store: MirrorStore, pages: PageWriter, ledger: QuotaLedger,
        access: PodioAccess, clock: any WallClock, logger: Logger, observer: SyncObserver?, metrics: MirrorMetrics
    ) {
        self.runID = runID
        self.settings = settings
        self.store = store
        self.pages = pages
        self.ledger = ledger
        self.access = access
        self.clock = clock
        self.logger = logger
        self.observer = observer
        self.metrics = metrics
        self.startedAt = clock.now()
    }

    /// Forgets the definition read last (the hook worker reads several apps' outside a pass).
    func forgetDefinition() {
        definition = nil
        unknownFieldsWarned = []
    }

    /// The app that was in progress when the run stopped, if any.
    func partial() -> [AppRunSummary] { current.map { [$0] } ?? [] }

    /// Syncs one app: a full pass (first sync, `resync`, or an unfinished pass to resume) or a
    /// delta, recorded as a pass (`podio.app_passes`) with what it cost. Podio answering 403, 404
    /// or 410 for the app's definition or its items throws `AppGoneError`.
    func syncApp(_ appID: Int) async throws -> AppRunSummary {
        let client = try access.client(for: appID)
        let store = self.store
        let state = try await store.run { try $0.items.syncState(appID: appID) }
        let known = try await store.run { try $0.items.appName(appID: appID) }
        let full = options.kind == .resync || state.lastFullSyncAt == nil || state.hasUnfinishedFullPass
        let mode = full ? PassMode.full : try await deltaOrListing(appID: appID, known: known != nil)
        current = AppRunSummary(appID: appID, name: known ?? "app \(appID)", mode: mode)
        defer {
            current = nil
            definition = nil
            unknownFieldsWarned = []
        }
        let before = await ledger.snapshot()
        var passID: Int64?
        if !options.dryRun {
            let runID = self.runID
            let resumedAt = full && state.hasUnfinishedFullPass ? state.fullPassOffset : nil
            passID = try await store.run {
                try $0.runs.beginPass(
                    runID: runID, appID: appID, mode: mode,
                    resumedAtOffset: resumedAt)
            }
        }
        do {
            do {
                try await passes(appID: appID, client: client, state: state, mode: mode, known: known != nil)
            } catch let error as PodioError where error.meansAppGone {
                throw AppGoneError(appID: appID, status: error.status, endpoint: error.endpoint)
            }
        } catch {
            let status: PassStatus
            switch error {
            case is AppGoneError: status = .gone
            case is SyncStopped: status = .stopped
            case is any RunDeferral: status = .deferred
            default: status = .failed
            }
            await finishPass(passID, status: status, since: before)
            throw error
        }
        let after = await ledger.snapshot()
        current?.calls = after.rateLimited + after.general - before.rateLimited - before.general
        await finishPass(passID, status: .succeeded, since: before)
        return current ?? AppRunSummary(appID: appID, name: "app \(appID)", mode: mode)
    }

    /// How an app that is loaded is read this turn: a listing of every item when it is small
    /// enough that one page holds it (`PODIO_LISTING_MAX_ITEMS`), else a delta.
    private func deltaOrListing(appID: Int, known: Bool) async throws -> PassMode {
        let limit = settings.listingMaxItems
        guard known, limit > 0 else { return .delta }
        let live = try await store.run { try $0.items.liveCount(appID: appID) }
        return live <= limit ? .listing : .delta
    }

    /// Records the end of a pass (never failing the run for it) and counts its items.
    private func finishPass(_ passID: Int64?, status: PassStatus, since before: LedgerStats.Snapshot) async {
        let after = await ledger.snapshot()
        let app = current
        if let app, !options.dryRun {
            metrics.items(appID: app.appID, written: app.itemsWritten, deleted: app.itemsDeleted)
        }
        guard let passID else { return }
        let rateLimited = after.rateLimited - before.rateLimited
        let general = after.general - before.general
        _ = try? await store.run { store in
            try store.runs.finishPass(
                passID: passID, status: status, callsRateLimited: rateLimited, callsGeneral: general,
                itemsWritten: app?.itemsWritten ?? 0, itemsDeleted: app?.itemsDeleted ?? 0)
        }
    }

    /// The walks of one app: its table in step, its definition when needed, then a full pass or a delta.
    private func passes(appID: Int, client: PodioClient, state: SyncState, mode: PassMode, known: Bool)
        async throws
    {
        let store = self.store
        if known && !options.dryRun {
            // The table follows the stored fields even when the definition is not read again:
            // a table a user dropped comes back, a change a user's view blocked is tried again.
            let report = try await store.run { try $0.items.reconcileAppTable(appID: appID) }
            noteTableChanges(report, appID: appID)
        }
        if mode == .full || !known {
            // A run that would defer at its first rate-limited call spends no general one first.
            try await ledger.requireAvailable(.rateLimited, identity: client.identity)
            try await refreshDefinition(appID: appID, client: client)
        }
        switch mode {
        case .full: try await fullPass(appID: appID, client: client, state: state)
        case .listing: try await listing(appID: appID, client: client, state: state)
        case .delta: try await delta(appID: appID, client: client, state: state)
        }
    }

    /// Logs what an app table's reconciliation did; its warnings (a user's view holding a
    /// column) count as the run's warnings and never fail the sync.
    private func noteTableChanges(_ report: AppTableStore.Report, appID: Int) {
        for warning in report.warnings {
            current?.warnings += 1
            logger.warning("\(warning)")
        }
        if report.changed, let table = report.table {
            logger.info(
                "the table of app \(appID) follows its fields",
                metadata: [
                    "table": "podio_apps.\(table)", "created": "\(report.created)", "added": "\(report.added)",
                    "dropped": "\(report.dropped)", "renamed": "\(report.renamed + report.renamedTables)",
                    "retyped": "\(report.retyped)", "rows_filled": "\(report.filledRows)",
                ])
        }
    }

    /// How long `calls` more rate-limited calls take under the quota from now: nothing while
    /// they fit in what is free, then a window for each further quota's worth.
    func estimate(calls: Int, identity: String) async -> Double? {
        guard calls > 0,
            let usage = try? await ledger.usage(identity: identity).first(where: { $0.tier == .rateLimited })
        else { return calls > 0 ? nil : 0 }
        let free = max(0, usage.allowed - usage.used)
        guard calls > free else { return 0 }
        let windows = Double(calls - free) / Double(max(1, usage.allowed))
        return windows.rounded(.up) * ledger.policy.window
    }

    func callCount() async -> Int {
        let s = await ledger.snapshot()
        return s.rateLimited + s.general
    }

    /// `GET /app/{app_id}` and the upsert of the app and its fields.
    func refreshDefinition(appID: Int, client: PodioClient) async throws {
        let app = try await client.app(appID)
        let store = self.store
        let dryRun = options.dryRun
        // A dry run writes nothing: it compares inside a transaction that is rolled back.
        let change = try await store.run {
            dryRun ? try $0.items.upsertAppRolledBack(app) : try $0.items.upsertApp(app)
        }
        current?.name = app.name
        definition = app
        if change.fieldsChanged { current?.fieldsChanged = true }
        noteTableChanges(change.table, appID: appID)
    }

    /// Items carry fields the stored definition does not know: the definition is read again
    /// (once per app and run; its new fields get columns filled from the raw JSON). A field still
    /// unknown after that (Podio's definition lacks it) is warned about once: its values stay in
    /// `podio.items.raw` only.
    func followUnknownFields(_ ids: [Int], appID: Int, client: PodioClient) async throws {
        let fresh = ids.filter { !unknownFieldsWarned.contains($0) }
        guard !fresh.isEmpty else { return }
        if definition == nil {
            logger.info(
                "items carry fields the mirror does not know; refreshing the app definition",
                metadata: ["app": "\(appID)", "fields": "\(fresh)"])
            try await refreshDefinition(appID: appID, client: client)
        }
        guard let definition else { return }
        let defined = Set(definition.fields.map(\.fieldID))
        for id in fresh where !defined.contains(id) && unknownFieldsWarned.insert(id).inserted {
            current?.warnings += 1
            logger.warning(
                "items of app \(appID) carry field \(id), which the app's definition does not have; its values are kept in podio.items.raw only"
            )
        }
    }

    // MARK: - Writing

    /// The bound of a pass: the last second that is over. Podio's times have whole seconds and
    /// its filters include their bounds, so anything created or edited from now on (in the
    /// current second too) falls outside the pass and cannot shift its pages. The first pass of
    /// a run waits for the second the run began in to end (at most a second), so that what was
    /// changed just before the run, in that same second, is inside the bound and not left to
    /// the next run.
    func passBound() async throws -> Date {
        let ready = Date(timeIntervalSince1970: startedAt.timeIntervalSince1970.rounded(.down) + 1.005)
        if clock.now() < ready { try await clock.sleep(until: ready) }
        return Date(timeIntervalSince1970: clock.now().timeIntervalSince1970.rounded(.down) - 1)
    }

    /// Stops between pages when the scheduler is shutting down.
    func checkStop() throws {
        if options.stopRequested?() == true { throw SyncStopped() }
    }

    /// Writes one page of the app being synced and adds what it did to the app's summary.
    func write(appID: Int, page: ItemPage, checkpoint: ItemStore.Checkpoint) async throws -> PageOutcome {
        let (outcome, warnings) = try await pages.write(
            appID: appID, page: page, checkpoint: checkpoint, app: options.dryRun ? definition : nil, watch: hookWatch)
        current?.pages += 1
        current?.itemsSeen += outcome.seen
        current?.itemsWritten += outcome.written
        current?.itemsUnchanged += outcome.unchanged
        current?.activityRefreshed += outcome.activityRefreshed
        current?.missedByHooks += outcome.missedByHooks
        current?.warnings += warnings
        return outcome
    }
}
