import Foundation
import LibPQ
import Logging
import PodioAPI

/// The walks of an app's items, each a configuration of `ItemPager`: the full pass (with
/// deletion detection), the listing of a small app (a full pass that reads no definition), the
/// delta (by time) and the ID sweep.
extension RunContext {
    // MARK: - Full pass

    /// Pages every item created up to the pass's cutoff in item-id order (`ItemPager`) and,
    /// when the pass saw every item Podio counted, marks what it did not see as deleted.
    /// Creations land after the cutoff and shift nothing. A `listing` is the same walk for a
    /// small app on its turn: no plan is announced, and it counts as a delta of the app.
    func fullPass(appID: Int, client: PodioClient, state: SyncState, listing: Bool = false) async throws {
        let mode: PassMode = listing ? .listing : .full
        let store = self.store
        let dryRun = options.dryRun
        let cutoff: Date
        var pager: ItemPager
        if state.hasUnfinishedFullPass, let resumeCutoff = state.fullPassCutoff {
            cutoff = resumeCutoff
            pager = ItemPager(
                appID: appID, filter: ItemFilter(sortBy: .itemID, createdOn: .init(to: cutoff)),
                offset: state.fullPassOffset,
                filtered: state.fullPassFiltered)
            logger.info("resuming the full load", metadata: ["app": "\(appID)", "offset": "\(state.fullPassOffset)"])
        } else {
            cutoff = try await passBound()
            pager = ItemPager(appID: appID, filter: ItemFilter(sortBy: .itemID, createdOn: .init(to: cutoff)))
            if !dryRun {
                let runID = self.runID
                try await store.run { try $0.items.beginFullPass(appID: appID, runID: runID, cutoff: cutoff) }
            }
        }
        var seenInDryRun = Set<Int>()
        var planned = false
        while true {
            let step: ItemPager.Step
            do {
                guard let next = try await pager.next(client, checkStop: checkStop) else { break }
                step = next
            } catch let error as PodioError
                where error.kind == .invalidRequest && pager.filter.createdOn != nil && pager.offset == 0
            {
                logger.warning("Podio refused the created_on filter (\(error)); the full load reads without it")
                pager.dropCreatedOnFilter()
                continue
            }
            let page = step.page
            if !planned {
                planned = true
                let calls = max(1, PageSize.maximum.pages(for: page.filtered - (step.nextOffset - page.items.count)))
                let eta = await estimate(calls: calls - 1, identity: client.identity)
                if !listing {
                    logger.info(
                        "full load of app \(appID): ~\(calls) calls\(eta.map { ", ~\(DurationParser.describe($0.rounded(.up))) under the quota" } ?? "")"
                    )
                }
                observer?(
                    .plan(appID: appID, name: current?.name ?? "", mode: mode, estimatedCalls: calls, etaSeconds: eta))
            }
            let outcome = try await write(
                appID: appID, page: page, checkpoint: .fullPass(nextOffset: step.nextOffset, filtered: page.filtered))
            try await followUnknownFields(outcome.unknownFieldIDs, appID: appID, client: client)
            if dryRun { seenInDryRun.formUnion(page.items.map(\.itemID)) }
            observer?(
                .page(
                    appID: appID, mode: mode, itemsDone: step.nextOffset, itemsTotal: page.filtered,
                    calls: await callCount()))
        }
        let counted = pager.filtered ?? 0
        let seen = dryRun ? seenInDryRun.count : try await store.run { try $0.items.fullPassSeenCount(appID: appID) }
        let withheld = Self.incompleteWalk(
            seen: seen, counted: counted, skippedPages: pager.skippedPages,
            what: listing ? "the listing" : "the full pass")
        // A listing that sees as few of Podio's count as the last one (items these credentials
        // cannot list) says so once, not every turn.
        let gap = counted - seen
        let known = listing && pager.skippedPages == 0 && state.sweepGap == gap
        if let withheld { withholdDeletions(appID: appID, because: withheld, warn: !known) }
        let deleted: Int
        if dryRun {
            let seenIDs = Array(seenInDryRun)
            deleted =
                withheld != nil
                ? 0
                : try await store.run {
                    try $0.items.markMissingDeleted(appID: appID, seen: seenIDs, cutoff: cutoff, dryRun: true)
                }
        } else {
            let now = clock.now()
            deleted = try await store.run {
                let deleted = try $0.items.finishFullPass(
                    appID: appID, cutoff: cutoff, markDeletions: withheld == nil, asDelta: listing)
                if listing { try $0.items.recordSweep(appID: appID, gap: gap, at: now) }
                return deleted
            }
        }
        current?.itemsDeleted += deleted
        current?.deletionsFoundBy = withheld == nil ? (listing ? "listing" : "full pass") : nil
    }

    // MARK: - Listing

    /// Every item of a small app, in item-id order up to the pass's bound (one call up to 500
    /// items): edits by revision, deletions by absence, with every guarantee of the full pass
    /// (deletions withheld when it saw less than Podio counted or met an empty page). The
    /// definition is not read again (as for a delta); with active hooks it is the app's
    /// reconciliation, and what it writes that no hook delivered is counted.
    func listing(appID: Int, client: PodioClient, state: SyncState) async throws {
        do {
            try await watchingHooks(appID: appID) {
                try await fullPass(appID: appID, client: client, state: state, listing: true)
            }
        } catch {
            // A listing that did not finish (a deferral, a stop, a failure) is not a full load
            // to resume first, with the definition read again: the next turn lists again.
            if !options.dryRun {
                let runID = self.runID
                _ = try? await store.run { try $0.items.abandonFullPass(appID: appID, runID: runID) }
            }
            throw error
        }
    }

    /// Runs a walk that reconciles an app with active hooks: what it writes that no hook
    /// delivered is counted per app (`status`, `/metrics`: missed by hooks).
    private func watchingHooks(appID: Int, _ walk: () async throws -> Void) async throws {
        if !options.dryRun, let since = try await store.run({ try $0.hooks.appsWithActiveHooks()[appID] }) {
            hookWatch = HookWatch(since: since, before: clock.now().addingTimeInterval(-settings.hookGrace))
        }
        defer {
            if hookWatch != nil, let missed = current?.missedByHooks, missed > 0 {
                logger.warning(
                    "app \(appID): reconciliation found \(missed) change\(missed == 1 ? "" : "s") that no hook delivered (counted in status and /metrics as missed by hooks)"
                )
            }
            hookWatch = nil
        }
        try await walk()
    }

    /// Why a walk cannot tell which items are gone (it saw fewer items than Podio counted, or
    /// stepped over empty pages), or nil when it saw everything.
    static func incompleteWalk(seen: Int, counted: Int, skippedPages: Int, what: String) -> String? {
        if skippedPages > 0 {
            return
                "\(what) met \(skippedPages) empty page\(skippedPages == 1 ? "" : "s") before the end Podio announced"
        }
        if seen < counted { return "\(what) saw \(seen) of the \(counted) items Podio counted" }
        return nil
    }

    /// Deletions are not marked from an incomplete walk: every item stays live, the run warns
    /// and records why (`sync_runs.deletions_withheld`).
    private func withholdDeletions(appID: Int, because reason: String, warn: Bool = true) {
        current?.deletionsWithheld = reason
        let message =
            "app \(appID): \(reason); no item is marked deleted this time (the next full pass or sweep checks again)"
        guard warn else {
            logger.debug("\(message) (as the last time)")
            return
        }
        current?.warnings += 1
        logger.warning("\(message)")
    }

    // MARK: - Delta

    /// Reads the items edited since the high-water mark (less the overlap) up to the pass's
    /// bound, by time, so that no order of items with equal times can make it miss one: each
    /// request starts at the newest second the previous page reached (inclusive; what is read
    /// twice costs no write), and a second holding more than a page of items is read alone in
    /// item-id order. The mark moves to the bound only when the walk read everything.
    func delta(appID: Int, client: PodioClient, state: SyncState) async throws {
        // With active hooks this delta is a reconciliation.
        try await watchingHooks(appID: appID) { try await deltaWalk(appID: appID, client: client, state: state) }
    }

    private func deltaWalk(appID: Int, client: PodioClient, state: SyncState) async throws {
        let store = self.store
        let upTo = try await passBound()
        var cursor = state.highWaterMark.map { $0.addingTimeInterval(-settings.overlap) }
        var podioTotal: Int?
        var planned = false
        var read = 0
        var incomplete: String?
        while true {
            try checkStop()
            let previous = cursor
            let page = try await client.filterItems(
                appID: appID, ItemFilter(sortBy: .lastEditOn, lastEditOn: .init(from: cursor, to: upTo)), files: true)
            podioTotal = page.total
            if !planned {
                planned = true
                let calls = max(1, PageSize.maximum.pages(for: page.filtered))
                let eta = await estimate(calls: calls - 1, identity: client.identity)
                observer?(
                    .plan(
                        appID: appID, name: current?.name ?? "", mode: .delta, estimatedCalls: calls, etaSeconds: eta))
            }
            // The page holds every item of the range older than its newest second (the order is
            // by time); items of that second may go on past the page.
            let complete = page.items.count >= page.filtered
            let newest = page.items.compactMap(\.lastEditOn).max().map { min($0, upTo) }
            let mark = complete ? newest : newest.map { $0.addingTimeInterval(-1) }
            let outcome = try await write(appID: appID, page: page, checkpoint: .delta(highWaterMark: mark))
            try await followUnknownFields(outcome.unknownFieldIDs, appID: appID, client: client)
            read += page.items.count
            observer?(
                .page(
                    appID: appID, mode: .delta, itemsDone: read,
                    itemsTotal: read + max(0, page.filtered - page.items.count), calls: await callCount()))
            if complete { break }
            guard let newest else {
                incomplete = "the delta met an empty page before the end Podio announced"
                break
            }
            let oldest = page.items.compactMap(\.lastEditOn).min().map { min($0, upTo) }
            if oldest == newest || cursor.map({ newest <= $0 }) == true {
                // A whole page of one second (a bulk edit, an automation): that second alone, in
                // item-id order, where ties cannot reorder.
                var pager = ItemPager(
                    appID: appID, filter: ItemFilter(sortBy: .itemID, lastEditOn: .init(from: newest, to: newest)))
                while let step = try await pager.next(client, checkStop: checkStop) {
                    let outcome = try await write(
                        appID: appID, page: step.page, checkpoint: .delta(highWaterMark: newest.addingTimeInterval(-1)))
                    try await followUnknownFields(outcome.unknownFieldIDs, appID: appID, client: client)
                    read += step.page.items.count
                }
                if pager.skippedPages > 0 {
                    incomplete = "the delta met an empty page in the items edited at \(PodioTime.format(newest))"
                    break
                }
                cursor = newest.addingTimeInterval(1)
            } else {
                cursor = newest
            }
            // Each request starts later than the one before; a server that ignored the time
            // filter would otherwise serve the same page for ever.
            if let previous, let next = cursor, next <= previous {
                incomplete = "Podio answered items edited before the delta's start (\(PodioTime.format(next)))"
                break
            }
        }
        if let incomplete {
            current?.warnings += 1
            logger.warning("app \(appID): \(incomplete); the next run reads again from there")
            return
        }
        try await store.run { [dryRun = options.dryRun] in
            try $0.items.finishDelta(appID: appID, upTo: upTo, dryRun: dryRun)
        }
        // Deletions without a full re-read: Podio's total against the mirror's live count. A gap
        // that an earlier sweep already explained (items the credentials cannot list, say) is
        // not swept again until it changes or the sweep interval has passed.
        let live = try await store.run { try $0.items.liveCount(appID: appID) }
        guard let total = podioTotal, total != live else { return }
        let sweptRecently = state.sweptAt.map { clock.now().timeIntervalSince($0) < settings.sweepInterval } ?? false
        if state.sweepGap == total - live && sweptRecently {
            logger.debug(
                "Podio's item count differs from the mirror's as at the last sweep; not sweeping again yet",
                metadata: ["app": "\(appID)", "podio": "\(total)", "mirror": "\(live)"])
            return
        }
        logger.info(
            "Podio's item count differs from the mirror's; sweeping ids",
            metadata: ["app": "\(appID)", "podio": "\(total)", "mirror": "\(live)"])
        try await idSweep(appID: appID, client: client, cutoff: upTo)
        if !options.dryRun {
            let now = clock.now()
            try await store.run {
                try $0.items.recordSweep(appID: appID, gap: total - (try $0.items.liveCount(appID: appID)), at: now)
            }
        }
    }

    // MARK: - ID sweep

    /// Lists every item id (`IDSweep`), marks mirror items Podio no longer has as deleted when
    /// the sweep saw every item Podio counted, and fetches live items the mirror lacks (a few
    /// directly; many: a full pass next run).
    func idSweep(appID: Int, client: PodioClient, cutoff: Date) async throws {
        let sweep = IDSweep(items: store.items, logger: logger, dryRun: options.dryRun)
        let (seen, incomplete) = try await sweep.listIDs(
            appID: appID, client: client, cutoff: cutoff, checkStop: checkStop)
        if let incomplete {
            withholdDeletions(appID: appID, because: incomplete)
        } else {
            current?.itemsDeleted += try await sweep.markDeleted(appID: appID, seen: seen, cutoff: cutoff)
            current?.deletionsFoundBy = "id sweep"
        }
        let missing = try await sweep.fetchMissing(appID: appID, seen: seen, client: client)
        guard !missing.isEmpty else { return }
        _ = try await write(appID: appID, page: try PageWriter.page(of: missing), checkpoint: .none)
    }
}
