import Foundation
import Logging
import PodioAPI

/// The ID sweep of an app: every item id Podio lists (micro view, `ItemPager`) against the
/// mirror's live items, for deletions without a full re-read and for the items the mirror lacks.
/// The walks (`RunContext.idSweep`) decide when it runs and write what it fetches.
struct IDSweep {
    let items: ItemStore
    let logger: Logger
    let dryRun: Bool
    /// Live items the mirror lacks that are read one by one; more: a full pass next run.
    static let directReads = 50

    /// Every item id created up to `cutoff`, and why the listing cannot tell which items are
    /// gone (nil: it saw every item Podio counted).
    func listIDs(appID: Int, client: PodioClient, cutoff: Date, checkStop: () throws -> Void) async throws -> (
        ids: [Int], incomplete: String?
    ) {
        var ids = Set<Int>()
        var pager = ItemPager(
            appID: appID, filter: ItemFilter(sortBy: .itemID, createdOn: .init(to: cutoff)), micro: true)
        while let step = try await pager.next(client, checkStop: checkStop) {
            ids.formUnion(step.page.items.map(\.itemID))
        }
        let incomplete = RunContext.incompleteWalk(
            seen: ids.count, counted: pager.filtered ?? 0, skippedPages: pager.skippedPages, what: "the id sweep")
        return (Array(ids), incomplete)
    }

    /// Marks the mirror's live items created up to `cutoff` that the sweep did not see as deleted
    /// (a dry run counts them); returns how many.
    func markDeleted(appID: Int, seen: [Int], cutoff: Date) async throws -> Int {
        let dryRun = self.dryRun
        return try await items.run {
            try $0.markMissingDeleted(appID: appID, seen: seen, cutoff: cutoff, dryRun: dryRun)
        }
    }

    /// The items Podio listed that the mirror lacks, read one by one (those gone since are
    /// skipped); when there are more than `directReads`, none: the next run re-reads the app in full.
    func fetchMissing(appID: Int, seen: [Int], client: PodioClient) async throws -> [Data] {
        let missing = try await items.run { try $0.missingLive(appID: appID, ids: seen) }
        guard !missing.isEmpty else { return [] }
        if missing.count > Self.directReads {
            logger.warning(
                "the mirror lacks items Podio lists; the next run re-reads the app in full",
                metadata: ["app": "\(appID)", "missing": "\(missing.count)"])
            if !dryRun {
                _ = try await items.run { try $0.requireFullPass(appID: appID) }
            }
            return []
        }
        var raws: [Data] = []
        for itemID in missing {
            do {
                raws.append(try await client.item(itemID).raw)
            } catch let error as PodioError where error.isGone {
                continue
            }
        }
        return raws
    }
}
