import Foundation
import Logging
import PodioAPI

/// What one drain of the webhook queue did.
public struct HookDrainSummary: Sendable, Codable, Equatable {
    /// Events applied (marked applied, including those set aside with an error).
    public var events = 0
    /// `GET /item/{id}` calls made for them.
    public var itemReads = 0
    /// Apps whose pending changes were served by one delta listing instead of item reads.
    public var deltas = 0
    public var itemsWritten = 0
    public var itemsDeleted = 0
    public var definitionsRefreshed = 0
    public var hooksVerified = 0
    public var commentReads = 0
    /// Events left queued after a failure (tried again by the next drain).
    public var failed = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case events, itemReads = "item_reads", deltas, itemsWritten = "items_written", itemsDeleted = "items_deleted"
        case definitionsRefreshed = "definitions_refreshed", hooksVerified = "hooks_verified", commentReads =
            "comment_reads", failed
    }
}

/// The event worker: drains `podio.hook_events`, at least once. Events are marked applied only
/// after what they asked for is committed, so a crash in between applies them again (the writes
/// compare revisions: a duplicate or a late event changes nothing, and an item read never moves
/// an item back to an older revision).
struct HookEventWorker {
    let store: MirrorStore
    let ledger: QuotaLedger
    let access: PodioAccess
    let clock: any WallClock
    let logger: Logger
    let metrics: MirrorMetrics
    /// The run's walks: an `app.update` reads the app's definition through them.
    let walks: RunContext
    /// Writes the items the events bring (revision compare; never back to an older revision).
    let pages: PageWriter
    /// Comment events read the item's comments (nil: comments are not mirrored).
    let comments: CommentReader?
    /// `file.change` events download the app's pending files (nil: `PODIO_FILES` is not set).
    let files: FileFetcher?
    /// How far a delta listing for pending changes reads back before the oldest event.
    let overlap: Double
    /// Pending changed items of one app from which one delta listing may serve them.
    let deltaThreshold: Int

    /// How long a `hook.verify` for a hook id the mirror does not know stays queued (the
    /// install race) before it is set aside.
    static let unknownVerifyTTL: Double = 600
    /// Item reads made for a delta's leftovers at most (items the listing did not show).
    static let leftoverReads = 50

    /// Applies the queued events (one process at a time; another one draining makes this a
    /// no-op). Never throws: a failure leaves the events queued for the next drain.
    func drainHookEvents(limit: Int = 5000) async -> HookDrainSummary {
        var summary = HookDrainSummary()
        let store = self.store
        do {
            guard try await store.run({ try $0.hooks.pendingHookEventCount() }) > 0 else { return summary }
            guard try await store.run({ try $0.hooks.tryLockHookQueue() }) else { return summary }
        } catch {
            logger.warning("the hook event queue could not be read: \(MirrorError(classifying: error).message)")
            return summary
        }
        await drainLocked(limit: limit, into: &summary)
        // The definitions read for the events are not the next app's.
        walks.forgetDefinition()
        _ = try? await store.run { try $0.hooks.unlockHookQueue() }
        if summary.events > 0 {
            logger.info(
                "hook events applied",
                metadata: [
                    "events": "\(summary.events)", "item_reads": "\(summary.itemReads)", "deltas": "\(summary.deltas)",
                    "written": "\(summary.itemsWritten)", "deleted": "\(summary.itemsDeleted)",
                    "verified": "\(summary.hooksVerified)",
                ])
        }
        metrics.hookEvents(applied: summary.events, failed: summary.failed)
        return summary
    }

    private func drainLocked(limit: Int, into summary: inout HookDrainSummary) async {
        let store = self.store
        do {
            let events = try await store.run { try $0.hooks.pendingHookEvents(limit: limit) }
            let now = clock.now()
            // Verifications first: a hook becomes active as soon as possible.
            for event in events where event.type == .verify {
                do {
                    try await verify(event, now: now, summary: &summary)
                } catch let deferral as any RunDeferral {
                    logger.info("hook verifications wait: \(access.redact(deferral.description))")
                    break
                } catch {
                    // Podio unavailable, say: the next drain tries again (the code stays valid
                    // until Podio sends another).
                    let message = access.redact(MirrorError(classifying: error).description)
                    let id = event.eventID
                    try await store.run { try $0.hooks.markHookEventsFailed([id], error: message) }
                    summary.failed += 1
                }
            }
            var byApp: [Int: [HookEvent]] = [:]
            var orphans: [Int64] = []
            var unplaced: [Int64] = []
            for event in events where event.type != .verify {
                if let appID = event.appID {
                    byApp[appID, default: []].append(event)
                } else if event.hookID == 0 {
                    unplaced.append(event.eventID)
                } else {
                    orphans.append(event.eventID)
                }
            }
            if !orphans.isEmpty {
                let ids = orphans
                try await store.run {
                    try $0.hooks.markHookEventsApplied(ids, error: "no hook of the mirror has this id")
                }
                summary.events += orphans.count
            }
            if !unplaced.isEmpty {
                // A delivery without hook_id about an item the mirror does not know (a new item,
                // say): its app cannot be told without trusting the payload; the next delta of
                // the hooked apps (their reconciliation) brings the item.
                let ids = unplaced
                try await store.run {
                    try $0.hooks.markHookEventsApplied(
                        ids, error: "the delivery named no hook and the mirror knows no app for its item or app")
                }
                logger.notice(
                    "\(ids.count) hook event\(ids.count == 1 ? "" : "s") without hook_id named an item or app the mirror does not know (yet); set aside, the next reconciliation brings any new item"
                )
                summary.events += ids.count
            }
            for appID in byApp.keys.sorted() {
                guard let appEvents = byApp[appID] else { continue }
                let ids = appEvents.map(\.eventID)
                do {
                    try await apply(appEvents, appID: appID, summary: &summary)
                    try await store.run { try $0.hooks.markHookEventsApplied(ids) }
                    summary.events += ids.count
                } catch let deferral as any RunDeferral {
                    logger.info("hook events of app \(appID) wait: \(access.redact(deferral.description))")
                    summary.failed += ids.count
                    break
                } catch let error as PodioError where error.meansAppGone {
                    // The app is gone for these credentials: the events cannot be applied.
                    let message = access.redact(error.description)
                    try await store.run { try $0.hooks.markHookEventsApplied(ids, error: message) }
                    summary.events += ids.count
                } catch {
                    let message = access.redact(MirrorError(classifying: error).description)
                    logger.warning(
                        "hook events of app \(appID) were not applied: \(message); the next drain tries again")
                    try await store.run { try $0.hooks.markHookEventsFailed(ids, error: message) }
                    summary.failed += ids.count
                }
            }
            let before = clock.now().addingTimeInterval(-86_400)
            try await store.run { try $0.hooks.pruneHookEvents(before: before) }
        } catch {
            logger.warning(
                "the hook event queue was not drained: \(access.redact(MirrorError(classifying: error).message))")
        }
    }

    /// `hook.verify`: the code goes back to Podio (`verify/validate`, general tier).
    private func verify(_ event: HookEvent, now: Date, summary: inout HookDrainSummary) async throws {
        let store = self.store
        let id = event.eventID
        guard let appID = event.appID else {
            if let received = event.receivedAt, now.timeIntervalSince(received) > Self.unknownVerifyTTL {
                try await store.run {
                    try $0.hooks.markHookEventsApplied([id], error: "no hook of the mirror has this id")
                }
                summary.events += 1
            }
            return  // the install that created it records it soon
        }
        guard let code = event.code, !code.isEmpty else {
            try await store.run { try $0.hooks.markHookEventsApplied([id], error: "hook.verify without a code") }
            summary.events += 1
            return
        }
        do {
            try await access.client(for: appID).validateHookVerification(event.hookID, code: code)
            try await store.run { try $0.hooks.markHookVerified(hookID: event.hookID) }
            try await store.run { try $0.hooks.markHookEventsApplied([id]) }
            summary.hooksVerified += 1
            summary.events += 1
            logger.info("hook \(event.hookID) of app \(appID) verified")
        } catch let error as PodioError where error.kind != .retryable && error.kind != .rateLimited {
            let message = access.redact(error.description)
            try await store.run {
                try $0.hooks.markHookError(hookID: event.hookID, "verification refused: \(message)")
                try $0.hooks.markHookEventsApplied([id], error: message)
            }
            summary.events += 1
            logger.warning("Podio refused the verification of hook \(event.hookID): \(message)")
        }
    }

    /// One app's events: its definition on `app.update`, its changed items (item reads or one
    /// delta listing, whichever costs less of the quota), confirmed deletions, comments.
    private func apply(_ events: [HookEvent], appID: Int, summary: inout HookDrainSummary) async throws {
        let client = try access.client(for: appID)
        var changed = Set<Int>()
        var deleted = Set<Int>()
        var commented = Set<Int>()
        var filed = Set<Int>()
        var appUpdate = false
        for event in events {
            switch event.type {
            case .itemDelete: if let id = event.itemID { deleted.insert(id) }
            case .commentCreate, .commentDelete: if let id = event.itemID { commented.insert(id) }
            case .fileChange: if let id = event.itemID { filed.insert(id) }
            case .appUpdate: appUpdate = true
            default: if let id = event.itemID { changed.insert(id) }
            }
        }
        changed.subtract(deleted)
        if appUpdate {
            try await walks.refreshDefinition(appID: appID, client: client)
            summary.definitionsRefreshed += 1
        }
        var toRead = changed
        if try await preferDelta(items: changed.count, identity: client.identity) {
            let oldest = events.compactMap(\.receivedAt).min() ?? clock.now()
            let since = oldest.addingTimeInterval(-overlap)
            let calls = PageSize.maximum.pages(for: changed.count)
            logger.info(
                "app \(appID): \(changed.count) changed items pending; one delta listing (~\(calls) rate-limited call\(calls == 1 ? "" : "s")) costs less of the quota than \(changed.count) item reads",
                metadata: ["app": "\(appID)", "since": "\(PodioTime.format(since))"])
            var pager = ItemPager(appID: appID, filter: ItemFilter(sortBy: .itemID, lastEditOn: .init(from: since)))
            var seen = Set<Int>()
            while let step = try await pager.next(client, checkStop: {}) {
                let (outcome, _) = try await pages.write(
                    appID: appID, page: step.page, checkpoint: .none, onlyNewer: true)
                summary.itemsWritten += outcome.written
                seen.formUnion(step.page.items.map(\.itemID))
            }
            summary.deltas += 1
            toRead.subtract(seen)
            if toRead.count > Self.leftoverReads {
                logger.info(
                    "app \(appID): \(toRead.count) changed items were not in the delta listing; the next reconciliation reads them"
                )
                toRead = []
            }
        } else if !changed.isEmpty {
            logger.info(
                "app \(appID): \(changed.count) changed item\(changed.count == 1 ? "" : "s") pending; read one by one (general tier)"
            )
        }
        // Comments and files change an item's activity, not its revision: the item read
        // refreshes its counts and its files (a delta listing carries no files), then its
        // comments are read when comments are mirrored.
        toRead.formUnion(commented)
        toRead.formUnion(filed.subtracting(deleted))
        var raws: [Data] = []
        var gone: [Int] = []
        var moved: Set<Int> = []
        for itemID in toRead.union(deleted).sorted() {
            do {
                summary.itemReads += 1
                let item = try await client.item(itemID)
                if let now = item.appID, now != appID {
                    // Moved to another app since the event (or a late event of the app it
                    // left): Podio's answer, not the hook, says where it is; that app's delta
                    // writes it there, and this app's next pass or sweep lets its row go.
                    logger.info(
                        "item \(itemID) is in app \(now) now, not in app \(appID): its hook event is left to app \(now)"
                    )
                    moved.insert(itemID)
                    continue
                }
                raws.append(item.raw)
            } catch let error as PodioError where error.isGone {
                gone.append(itemID)
            } catch let error as PodioError where error.status == 403 {
                logger.info(
                    "item \(itemID) of app \(appID) is not visible to these credentials; its hook event is skipped")
            }
            if raws.count == 100 {
                summary.itemsWritten += try await writeItems(raws, appID: appID)
                raws = []
            }
        }
        if !raws.isEmpty { summary.itemsWritten += try await writeItems(raws, appID: appID) }
        if !gone.isEmpty {
            // Only what Podio confirmed gone (404 or 410) is marked deleted.
            let ids = gone
            let count = try await store.run { try $0.items.markItemsDeleted(appID: appID, itemIDs: ids) }
            summary.itemsDeleted += count
        }
        if let comments {
            for itemID in commented.subtracting(gone).subtracting(moved).sorted() {
                try await comments.readAfterEvent(itemID: itemID, appID: appID, client: client)
                summary.commentReads += 1
            }
        }
        if let files, !filed.subtracting(gone).isEmpty {
            // The files the item read recorded are downloaded on the usual terms (never waiting
            // for the quota; what is left waits for the next run).
            _ = await files.downloadFiles(apps: [appID])
        }
    }

    /// One delta listing instead of `items` item reads when it costs less of the quota (in
    /// shares of each tier's window: 4 general calls weigh one rate-limited call at Podio's
    /// 1,000 and 250), the count reaches the threshold, and a rate-limited call is free now.
    private func preferDelta(items: Int, identity: String) async throws -> Bool {
        guard items >= deltaThreshold else { return false }
        let policy = ledger.policy
        let listing = Double(PageSize.maximum.pages(for: items)) / Double(policy.allowed(.rateLimited))
        let reads = Double(items) / Double(policy.allowed(.general))
        guard listing < reads else { return false }
        return try await ledger.freeCalls(identity: identity, tier: .rateLimited) > 0
    }

    /// Writes fetched items as one page (revision compare; never back to an older revision).
    private func writeItems(_ raws: [Data], appID: Int) async throws -> Int {
        try await pages.write(appID: appID, page: try PageWriter.page(of: raws), checkpoint: .none, onlyNewer: true)
            .outcome.written
    }
}
