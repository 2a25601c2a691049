import Foundation
import Logging
import PodioAPI

/// What a run did about comments.
public struct CommentRunSummary: Sendable, Codable, Equatable {
    /// Items whose comments were read (one call or more each).
    public var itemsRead = 0
    /// Comments added, changed and marked deleted.
    public var added = 0
    public var changed = 0
    public var deleted = 0
    /// Items whose comments could not all be read (an error, or Podio listed fewer than the
    /// item's `comment_count`): recorded in `podio.extra_failures` and tried again later.
    public var itemsFailed = 0
    /// Items whose comments still wait for a read after the run (the general tier was short).
    public var itemsPending = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case itemsRead = "items_read", added, changed, deleted, itemsFailed = "items_failed"
        case itemsPending = "items_pending"
    }
}

/// One read of an item's comments: what it wrote and whether it saw them all.
struct CommentRead: Sendable {
    var change = CommentStore.CommentChange()
    /// Distinct comments Podio listed, and the item's `comment_count` the read aimed at.
    var seen = 0
    var expected = 0
    var calls = 0
    var complete: Bool { seen >= expected }
}

/// Reads items' comments: the run's comment stage (`syncComments`) and, for the hook worker's
/// comment events, one item's comments (`readItemComments`), through the one paging of comments.
struct CommentReader {
    let store: MirrorStore
    let ledger: QuotaLedger
    let access: PodioAccess
    let clock: any WallClock
    let logger: Logger
    /// Asked between items: the scheduler is shutting down.
    let stopRequested: (@Sendable () -> Bool)?

    /// Page size asked of `GET /comment/item/{item_id}/` (Podio documents no default or maximum).
    static let commentPageSize = 100

    /// Reads an item's comments and writes them: the one paging of comments, for the run's
    /// comment stage and the hook worker's comment events. Podio documents no paging for
    /// `GET /comment/item/{id}/` (only podio-js sends `offset` and `limit`), so the read asks
    /// for pages and stops when a page brings no comment id it has not seen (a server that
    /// ignores `offset` sends the first page again; an empty page brings none) or when it has
    /// seen `expected` comments (the item's `comment_count`; nil: unknown, never reached). A
    /// short page does not end it: a server may cap pages below the limit asked. Each page
    /// costs one call, each except the last brings a new comment, so the calls are bounded by
    /// `expected` + 1. The comments seen are always written; only a read that saw at least
    /// `expected` marks the others deleted and records the item read (`CommentRead.complete`).
    /// Returns nil when Podio answers 404 or 410 (the item is gone: the next item pass finds it).
    func readItemComments(itemID: Int, appID: Int, expected: Int?, client: PodioClient, neverWait: Bool)
        async throws -> CommentRead?
    {
        let target = expected ?? Int.max
        var read = CommentRead(expected: target)
        var pages: [Data] = []
        var ids = Set<Int>()
        var offset = 0
        do {
            while true {
                let from = offset
                let page = try await QuotaLedger.$neverWait.withValue(neverWait) {
                    try await client.comments(itemID: itemID, limit: Self.commentPageSize, offset: from)
                }
                read.calls += 1
                let before = ids.count
                ids.formUnion(page.commentIDs)
                if ids.count == before { break }
                pages.append(page.body)
                offset += page.count
                if ids.count >= target { break }
            }
        } catch let error as PodioError where error.isGone {
            return nil
        }
        read.seen = ids.count
        let (written, complete) = (pages, read.complete)
        read.change = try await store.run {
            try $0.comments.writeComments(itemID: itemID, appID: appID, pages: written, complete: complete)
        }
        return read
    }

    /// Reads one item's comments for the hook worker's comment events (general tier, waiting for
    /// the quota as the worker's calls do), aiming at the `comment_count` the item read just wrote.
    func readAfterEvent(itemID: Int, appID: Int, client: PodioClient) async throws {
        let expected = try await store.run { try $0.comments.commentCount(itemID: itemID) }
        _ = try await readItemComments(
            itemID: itemID, appID: appID, expected: expected, client: client, neverWait: QuotaLedger.neverWait)
    }

    /// Reads the comments of items whose comments moved, after every app's items are synced, so
    /// they never delay an item sync: every call is made with `QuotaLedger.neverWait`, and they
    /// leave free in the general tier what the next run's item syncs need at most (`GET /org/`
    /// and `GET /app/{id}` per app); the first call that would cut into that, or that the tier
    /// cannot serve at once, ends the reading and the rest waits for the next run (`status`
    /// counts it). An item whose comments fail (an error other than a deferral or a lost
    /// database, or fewer comments listed than its `comment_count`) is recorded in
    /// `podio.extra_failures` with a back-off and the reading goes on with the next item; the
    /// comments it did read are kept. After `extraFailuresInARow` errors in a row (not short
    /// reads: Podio answered those) the rest waits for the next run.
    func syncComments(apps: [Int]) async -> CommentRunSummary {
        var summary = CommentRunSummary()
        let store = self.store
        let headroom = 1 + apps.count
        var inARow = 0
        reading: for appID in apps {
            do {
                let client = try access.client(for: appID)
                let now = clock.now()
                let (items, settled) = try await store.run {
                    try $0.comments.itemsWithCommentsPending(appID: appID, now: now)
                }
                summary.deleted += settled.deleted
                for item in items {
                    if stopRequested?() == true { break reading }
                    if let short = try await ledger.tierKeptForSyncs(identity: client.identity, headroom: headroom) {
                        logger.info(
                            "comments wait for the next run: the \(short.rawValue) quota left is kept for item syncs")
                        break reading
                    }
                    let failure: String
                    var answered = true
                    do {
                        guard
                            let read = try await readItemComments(
                                itemID: item.itemID, appID: appID, expected: item.commentCount, client: client,
                                neverWait: true)
                        else {
                            try await store.run { try $0.failures.clearExtraFailure(.comments, objectID: item.itemID) }
                            continue
                        }
                        summary.added += read.change.added
                        summary.changed += read.change.changed
                        summary.deleted += read.change.deleted
                        if read.complete {
                            try await store.run { try $0.failures.clearExtraFailure(.comments, objectID: item.itemID) }
                            summary.itemsRead += 1
                            inARow = 0
                            continue
                        }
                        failure =
                            "Podio listed \(read.seen) of the \(read.expected) comments the item counts in \(read.calls) call\(read.calls == 1 ? "" : "s") "
                            + "(a page brought no new comment); those read are kept, none is marked deleted"
                    } catch  where !MirrorError.stopsExtras(error) {
                        failure = access.redact(MirrorError(classifying: error).message)
                        answered = false
                    }
                    let at = clock.now()
                    let (attempts, next) = try await store.run {
                        try $0.failures.recordExtraFailure(
                            .comments, objectID: item.itemID, itemID: item.itemID, appID: appID, error: failure, at: at)
                    }
                    summary.itemsFailed += 1
                    logger.warning(
                        "comments of item \(item.itemID) (app \(appID)) were not all read: \(failure); attempt \(attempts), next try at \(MirrorStatus.format(next))"
                    )
                    // A short read is Podio's answer, not an outage: only errors count in a row.
                    inARow = answered ? 0 : inARow + 1
                    if inARow >= ExtraFailure.stopAfterInARow {
                        logger.warning("comments wait for the next run: \(inARow) items failed in a row")
                        break reading
                    }
                }
            } catch let deferral as any RunDeferral {
                logger.info("comments wait for the next run: \(deferral.description)")
                break reading
            } catch {
                logger.warning(
                    "comments of app \(appID) were not read: \(access.redact(String(describing: error))); the next run tries again"
                )
                break reading
            }
        }
        summary.itemsPending = (try? await store.run { try $0.comments.commentsPendingCount() }) ?? 0
        return summary
    }
}
