import Foundation
import LibPQ
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
    /// Items whose comments still wait for a read after the run (the general tier was short).
    public var itemsPending = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case itemsRead = "items_read", added, changed, deleted, itemsPending = "items_pending"
    }
}

extension RunContext {
    /// Page size asked of `GET /comment/item/{item_id}/` (Podio documents no default or maximum).
    static let commentPageSize = 100

    /// Reads the comments of items whose comments moved, after every app's items are synced, so
    /// they never delay an item sync: every call is made with `QuotaLedger.neverWait`, and they
    /// leave free in the general tier what the next run's item syncs need at most (`GET /org/`
    /// and `GET /app/{id}` per app); the first call that would cut into that, or that the tier
    /// cannot serve at once, ends the reading and the rest waits for the next run (`status`
    /// counts it). A failure here is logged and leaves the rest for the next run too: the items
    /// are already committed.
    func syncComments(apps: [Int]) async -> CommentRunSummary {
        var summary = CommentRunSummary()
        let store = self.store
        let headroom = 1 + apps.count
        reading: for appID in apps {
            do {
                let client = try access.client(for: appID)
                let (items, settled) = try await store.run { try $0.itemsWithCommentsPending(appID: appID) }
                summary.deleted += settled.deleted
                for itemID in items {
                    if options.stopRequested?() == true { break reading }
                    if let general = try await ledger.usage(identity: client.identity).first(where: {
                        $0.tier == .general
                    }),
                        general.allowed - general.used <= headroom
                    {
                        logger.info("comments wait for the next run: the general quota left is kept for item syncs")
                        break reading
                    }
                    var pages: [Data] = []
                    var offset = 0
                    do {
                        while true {
                            let from = offset
                            let page = try await QuotaLedger.$neverWait.withValue(true) {
                                try await client.comments(itemID: itemID, limit: Self.commentPageSize, offset: from)
                            }
                            pages.append(page.body)
                            offset += page.count
                            if page.count < Self.commentPageSize { break }
                        }
                    } catch let error as PodioError where error.kind == .notFound || error.kind == .gone {
                        // Deleted since its page was read: the next item pass finds the deletion.
                        continue
                    }
                    let read = pages
                    let change = try await store.run {
                        try $0.writeComments(itemID: itemID, appID: appID, pages: read)
                    }
                    summary.itemsRead += 1
                    summary.added += change.added
                    summary.changed += change.changed
                    summary.deleted += change.deleted
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
        summary.itemsPending = (try? await store.run { try $0.commentsPendingCount() }) ?? 0
        return summary
    }
}
