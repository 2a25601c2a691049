import Foundation
import LibPQ
import Logging
import PodioAPI

/// The state of one run while it walks its apps: full passes, deltas and ID sweeps.
final class RunContext {
    let runID: Int64
    let options: SyncOptions
    let store: MirrorStore
    let ledger: QuotaLedger
    let access: PodioAccess
    let clock: any LedgerClock
    let logger: Logger
    let observer: SyncObserver?
    let overlap: Double
    /// When the run began: its passes include everything Podio stamped up to this second.
    let startedAt: Date
    private(set) var writeSeconds = 0.0
    private var current: AppRunSummary?
    /// The definition read in this run (a dry run writes it with every page it rolls back).
    private var definition: PodioApp?
    /// Field ids items carry that the app's definition lacks even after reading it again:
    /// warned about once per app and run.
    private var unknownFieldsWarned: Set<Int> = []

    init(
        runID: Int64, options: SyncOptions, store: MirrorStore, ledger: QuotaLedger, access: PodioAccess,
        clock: any LedgerClock, logger: Logger, observer: SyncObserver?, overlap: Double
    ) {
        self.runID = runID
        self.options = options
        self.store = store
        self.ledger = ledger
        self.access = access
        self.clock = clock
        self.logger = logger
        self.observer = observer
        self.overlap = overlap
        self.startedAt = clock.now()
    }

    /// The app that was in progress when the run stopped, if any.
    func partial() -> [AppRunSummary] { current.map { [$0] } ?? [] }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Syncs one app: a full pass (first sync, `resync`, or an unfinished pass to resume) or a delta.
    func syncApp(_ appID: Int) async throws -> AppRunSummary {
        let client = try access.client(for: appID)
        let store = self.store
        let state = try await store.db.run { try MirrorStore(db: $0).syncState(appID: appID) }
        let known = try await store.db.run { db in
            try db.query("SELECT name FROM podio.apps WHERE app_id = $1", [appID]).first?.string("name")
        }
        let full = options.kind == .resync || state.lastFullSyncAt == nil || state.hasUnfinishedFullPass
        current = AppRunSummary(appID: appID, name: known ?? "app \(appID)", mode: full ? "full" : "delta")
        defer {
            current = nil
            definition = nil
            unknownFieldsWarned = []
        }
        let callsBefore = await callCount()
        if known != nil && !options.dryRun {
            // The table follows the stored fields even when the definition is not read again:
            // a table a user dropped comes back, a change a user's view blocked is tried again.
            let report = try await store.db.run { try MirrorStore(db: $0).reconcileAppTable(appID: appID) }
            noteTableChanges(report, appID: appID)
        }
        if full || known == nil {
            try await refreshDefinition(appID: appID, client: client)
        }
        if full {
            try await fullPass(appID: appID, client: client, state: state)
        } else {
            try await delta(appID: appID, client: client, state: state)
        }
        current?.calls = await callCount() - callsBefore
        return current ?? AppRunSummary(appID: appID, name: "app \(appID)", mode: full ? "full" : "delta")
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
    private func estimate(calls: Int, identity: String) async -> Double? {
        guard calls > 0, let usage = try? await ledger.usage(identity: identity).first(where: { $0.tier == .rateLimited })
        else { return calls > 0 ? nil : 0 }
        let free = max(0, usage.allowed - usage.used)
        guard calls > free else { return 0 }
        let windows = Double(calls - free) / Double(max(1, usage.allowed))
        return windows.rounded(.up) * ledger.policy.window
    }

    private func callCount() async -> Int {
        let s = await ledger.snapshot()
        return s.rateLimited + s.general
    }

    /// `GET /app/{app_id}` and the upsert of the app and its fields.
    private func refreshDefinition(appID: Int, client: PodioClient) async throws {
        let app: PodioApp
        do {
            app = try await client.app(appID)
        } catch let error as PodioError where [.notFound, .gone, .auth].contains(error.kind) {
            throw MirrorError(
                .usage, "app \(appID) is not visible to these credentials (Podio answered \(error.status.map(String.init) ?? "an error"))",
                fix: "check --app and PODIO_APPS against `podio-mirror apps`")
        }
        let store = self.store
        let dryRun = options.dryRun
        let change = try await store.db.run { db -> DefinitionChange in
            if dryRun {
                // A dry run writes nothing: compare inside a transaction that is rolled back.
                try db.execute("BEGIN")
                defer { _ = try? db.execute("ROLLBACK") }
                return try MirrorStore(db: db).upsertAppInOpenTransaction(app)
            }
            return try MirrorStore(db: db).upsertApp(app)
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
    private func followUnknownFields(_ ids: [Int], appID: Int, client: PodioClient) async throws {
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
                "items of app \(appID) carry field \(id), which the app's definition does not have; its values are kept in podio.items.raw only")
        }
    }

    // MARK: - Full pass

    /// Pages every item created up to the pass's cutoff in item-id order, 500 at a time, and
    /// marks what it did not see as deleted. Deletions in Podio while it pages shift later
    /// items to lower offsets; Podio's `filtered` drops by as many, and the pass steps back by
    /// that much so that nothing is skipped (creations land after the cutoff and shift nothing).
    private func fullPass(appID: Int, client: PodioClient, state: SyncState) async throws {
        let store = self.store
        let dryRun = options.dryRun
        var offset = 0
        var previousFiltered: Int?
        let cutoff: Date
        if state.hasUnfinishedFullPass, let resumeCutoff = state.fullPassCutoff {
            cutoff = resumeCutoff
            offset = state.fullPassOffset
            previousFiltered = state.fullPassFiltered
            logger.info("resuming the full load", metadata: ["app": "\(appID)", "offset": "\(offset)"])
        } else {
            cutoff = try await passBound()
            if !dryRun {
                let runID = self.runID
                try await store.db.run { try MirrorStore(db: $0).beginFullPass(appID: appID, runID: runID, cutoff: cutoff) }
            }
        }
        var seenInDryRun: [Int] = []
        var planned = false
        var useCutoff = true
        while true {
            try checkStop()
            let filter = ItemFilter(sortBy: .itemID, offset: offset, createdOn: useCutoff ? .init(to: cutoff) : nil)
            let page: ItemPage
            do {
                page = try await client.filterItems(appID: appID, filter)
            } catch let error as PodioError where error.kind == .invalidRequest && useCutoff && offset == 0 {
                // A server that refuses the created_on filter: read without it. Items created
                // meanwhile then join the pass at its end (item ids only grow).
                logger.warning("Podio refused the created_on filter (\(error)); the full load reads without it")
                useCutoff = false
                continue
            }
            if let previous = previousFiltered, page.filtered < previous {
                let shift = previous - page.filtered
                logger.debug("items were deleted while paging; stepping back", metadata: ["app": "\(appID)", "by": "\(shift)"])
                offset = max(0, offset - shift)
                previousFiltered = page.filtered
                continue
            }
            if !planned {
                planned = true
                let calls = max(1, (page.filtered - offset + 499) / 500)
                let eta = await estimate(calls: calls - 1, identity: client.identity)
                logger.info(
                    "full load of app \(appID): ~\(calls) calls\(eta.map { ", ~\(DurationParser.describe($0.rounded(.up))) under the quota" } ?? "")")
                observer?(.plan(appID: appID, name: current?.name ?? "", mode: "full", estimatedCalls: calls, etaSeconds: eta))
            }
            let next = offset + page.items.count
            let outcome = try await write(appID: appID, page: page, checkpoint: .fullPass(nextOffset: next, filtered: page.filtered))
            try await followUnknownFields(outcome.unknownFieldIDs, appID: appID, client: client)
            if dryRun { seenInDryRun.append(contentsOf: page.items.map(\.itemID)) }
            observer?(.page(appID: appID, mode: "full", itemsDone: next, itemsTotal: page.filtered, calls: await callCount()))
            previousFiltered = page.filtered
            offset = next
            if page.items.count < PageSize.maximum.value || offset >= page.filtered { break }
        }
        let deleted: Int
        if dryRun {
            let seen = seenInDryRun
            deleted = try await store.db.run { try MirrorStore(db: $0).markMissingDeleted(appID: appID, seen: seen, cutoff: cutoff, dryRun: true) }
        } else {
            deleted = try await store.db.run { try MirrorStore(db: $0).finishFullPass(appID: appID, cutoff: cutoff, dryRun: false) }
        }
        current?.itemsDeleted += deleted
        current?.deletionsFoundBy = "full pass"
    }

    // MARK: - Delta

    /// Pages the items edited since the high-water mark (less the overlap) up to now, in
    /// last-edit order. The upper bound keeps items edited during the walk out of it (their
    /// leaving lowers `filtered`, and the walk steps back), so the mark can move to the bound.
    private func delta(appID: Int, client: PodioClient, state: SyncState) async throws {
        let store = self.store
        let upTo = try await passBound()
        let from = state.highWaterMark.map { $0.addingTimeInterval(-overlap) }
        var offset = 0
        var previousFiltered: Int?
        var podioTotal: Int?
        var planned = false
        while true {
            try checkStop()
            let filter = ItemFilter(sortBy: .lastEditOn, offset: offset, lastEditOn: .init(from: from, to: upTo))
            let page = try await client.filterItems(appID: appID, filter)
            podioTotal = page.total
            if let previous = previousFiltered, page.filtered < previous {
                offset = max(0, offset - (previous - page.filtered))
                previousFiltered = page.filtered
                continue
            }
            if !planned {
                planned = true
                let calls = max(1, (page.filtered + 499) / 500)
                let eta = await estimate(calls: calls - 1, identity: client.identity)
                observer?(.plan(appID: appID, name: current?.name ?? "", mode: "delta", estimatedCalls: calls, etaSeconds: eta))
            }
            let newest = page.items.compactMap(\.lastEditOn).max().map { min($0, upTo) }
            let outcome = try await write(appID: appID, page: page, checkpoint: .delta(highWaterMark: newest))
            try await followUnknownFields(outcome.unknownFieldIDs, appID: appID, client: client)
            offset += page.items.count
            observer?(.page(appID: appID, mode: "delta", itemsDone: offset, itemsTotal: page.filtered, calls: await callCount()))
            previousFiltered = page.filtered
            if page.items.count < PageSize.maximum.value || offset >= page.filtered { break }
        }
        try await store.db.run { [dryRun = options.dryRun] in try MirrorStore(db: $0).finishDelta(appID: appID, upTo: upTo, dryRun: dryRun) }
        // Deletions without a full re-read: Podio's total against the mirror's live count.
        let live = try await store.db.run { try MirrorStore(db: $0).liveCount(appID: appID) }
        if let total = podioTotal, total != live {
            logger.info(
                "Podio's item count differs from the mirror's; sweeping ids",
                metadata: ["app": "\(appID)", "podio": "\(total)", "mirror": "\(live)"])
            try await idSweep(appID: appID, client: client, cutoff: upTo)
        }
    }

    // MARK: - ID sweep

    /// Lists every item id (micro view, 500 a page), marks mirror items Podio no longer has as
    /// deleted, and fetches live items the mirror lacks (a few directly; many: a full pass next run).
    private func idSweep(appID: Int, client: PodioClient, cutoff: Date) async throws {
        let store = self.store
        let dryRun = options.dryRun
        var ids: [Int] = []
        var offset = 0
        var previousFiltered: Int?
        while true {
            let filter = ItemFilter(sortBy: .itemID, offset: offset, createdOn: .init(to: cutoff))
            let page = try await client.filterItems(appID: appID, filter, micro: true)
            if let previous = previousFiltered, page.filtered < previous {
                offset = max(0, offset - (previous - page.filtered))
                previousFiltered = page.filtered
                continue
            }
            ids.append(contentsOf: page.items.map(\.itemID))
            offset += page.items.count
            previousFiltered = page.filtered
            if page.items.count < PageSize.maximum.value || offset >= page.filtered { break }
        }
        let seen = Array(Set(ids))
        let deleted = try await store.db.run { try MirrorStore(db: $0).markMissingDeleted(appID: appID, seen: seen, cutoff: cutoff, dryRun: dryRun) }
        current?.itemsDeleted += deleted
        current?.deletionsFoundBy = "id sweep"
        let missing = try await store.db.run { try MirrorStore(db: $0).missingLive(appID: appID, ids: seen) }
        guard !missing.isEmpty else { return }
        if missing.count > 50 {
            logger.warning(
                "the mirror lacks items Podio lists; the next run re-reads the app in full",
                metadata: ["app": "\(appID)", "missing": "\(missing.count)"])
            if !dryRun {
                _ = try await store.db.run { db in
                    try db.query("UPDATE podio.sync_state SET last_full_sync_at = NULL WHERE app_id = $1", [appID])
                }
            }
            return
        }
        var raws: [Data] = []
        for itemID in missing {
            do {
                raws.append(try await client.item(itemID).raw)
            } catch let error as PodioError where error.kind == .notFound || error.kind == .gone {
                continue
            }
        }
        guard !raws.isEmpty else { return }
        var body = Data("{\"items\":[".utf8)
        body.append(contentsOf: raws.joined(separator: Data(",".utf8)))
        body.append(contentsOf: Data("]}".utf8))
        let page = try ItemPage(body: body)
        _ = try await write(appID: appID, page: page, checkpoint: .none)
    }

    // MARK: - Writing

    /// The bound of a pass: the last second that is over. Podio's times have whole seconds and
    /// its filters include their bounds, so anything created or edited from now on (in the
    /// current second too) falls outside the pass and cannot shift its pages. The first pass of
    /// a run waits for the second the run began in to end (at most a second), so that what was
    /// changed just before the run, in that same second, is inside the bound and not left to
    /// the next run.
    private func passBound() async throws -> Date {
        let ready = Date(timeIntervalSince1970: startedAt.timeIntervalSince1970.rounded(.down) + 1.005)
        if clock.now() < ready { try await clock.sleep(until: ready) }
        return Date(timeIntervalSince1970: clock.now().timeIntervalSince1970.rounded(.down) - 1)
    }

    /// Stops between pages when the scheduler is shutting down.
    private func checkStop() throws {
        if options.stopRequested?() == true { throw SyncStopped() }
    }

    private func write(appID: Int, page: ItemPage, checkpoint: MirrorStore.Checkpoint) async throws -> PageOutcome {
        let store = self.store
        let runID = self.runID
        let dryRun = options.dryRun
        let body = String(decoding: page.body, as: UTF8.self)
        let total = page.total
        let started = ContinuousClock.now
        let app = dryRun ? definition : nil
        let outcome = try await store.db.run { db in
            try MirrorStore(db: db).writePage(
                appID: appID, runID: runID, body: body, checkpoint: checkpoint, podioTotal: total, dryRun: dryRun, app: app)
        }
        writeSeconds += Self.seconds(ContinuousClock.now - started)
        current?.pages += 1
        current?.itemsSeen += outcome.seen
        current?.itemsWritten += outcome.written
        current?.itemsUnchanged += outcome.unchanged
        current?.activityRefreshed += outcome.activityRefreshed
        // One warning line per item, naming its first problem; the raw JSON keeps everything.
        var warned = Set<Int>()
        for itemID in outcome.untitled where warned.insert(itemID).inserted {
            current?.warnings += 1
            logger.warning("item \(itemID) of app \(appID) has no title; it is stored as Podio sent it")
        }
        for value in outcome.unreadable where warned.insert(value.itemID).inserted {
            current?.warnings += 1
            logger.warning(
                "item \(value.itemID) of app \(appID): field \(value.fieldID) (\(value.type)) has a value podio-mirror cannot type; it is kept in the raw JSON")
        }
        return outcome
    }
}
