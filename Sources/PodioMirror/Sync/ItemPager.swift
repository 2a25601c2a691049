import Foundation
import PodioAPI

/// Offset paging over one item filter, 500 a page: the one place that knows how a walk moves
/// through Podio's pages (the full pass, the ID sweep, and a delta inside one crowded second).
///
/// It is safe under every reading of what Podio leaves undocumented:
/// - Deletions while paging shift later items to lower offsets; Podio's `filtered` drops by as
///   many, and the pager steps back by that much so that nothing is skipped.
/// - The offset moves on by the items a page held, not by the limit asked for: a server that
///   caps pages below the limit, or leaves out items the user may not see, is read again in
///   part, never skipped.
/// - An empty page before `filtered` is reached (a page the server left empty) is stepped over
///   by a whole page and counted in `skippedPages`, so that the walk ends and the caller
///   concludes nothing (no deletions) from what it did not see.
/// - The walk ends when the offset reaches `filtered`.
///
/// Order the filter by a unique key (item id): with equal keys a server may order ties
/// differently on every request, and offsets would then skip items.
struct ItemPager {
    let appID: Int
    private(set) var filter: ItemFilter
    let micro: Bool
    /// Where the next page starts.
    private(set) var offset: Int
    /// Podio's `filtered` at the last page read.
    private(set) var filtered: Int?
    /// Empty pages stepped over: when non-zero, the walk may have missed items.
    private(set) var skippedPages = 0
    private(set) var finished = false

    /// One page and where the walk stands after it.
    struct Step {
        var page: ItemPage
        /// The offset of the page after this one.
        var nextOffset: Int
    }

    init(appID: Int, filter: ItemFilter, micro: Bool = false, offset: Int = 0, filtered: Int? = nil) {
        self.appID = appID
        self.filter = filter
        self.micro = micro
        self.offset = offset
        self.filtered = filtered
    }

    /// Reads on without the `created_on` filter (a server that refuses it): items created
    /// meanwhile then join the walk at its end, as item ids only grow.
    mutating func dropCreatedOnFilter() {
        filter.createdOn = nil
    }

    /// The next page, or nil when the walk is over. `checkStop` runs before every request.
    mutating func next(_ client: PodioClient, checkStop: () throws -> Void) async throws -> Step? {
        while !finished {
            try checkStop()
            var request = filter
            request.offset = offset
            let page = try await client.filterItems(appID: appID, request, micro: micro, files: !micro)
            if let previous = filtered, page.filtered < previous {
                offset = max(0, offset - (previous - page.filtered))
                filtered = page.filtered
                continue
            }
            filtered = page.filtered
            if page.items.isEmpty && offset < page.filtered {
                skippedPages += 1
                offset += filter.limit.value
                continue
            }
            offset += page.items.count
            if page.items.isEmpty || offset >= page.filtered { finished = true }
            return Step(page: page, nextOffset: offset)
        }
        return nil
    }
}
