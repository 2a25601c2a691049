import Foundation
import PodioAPI

/// The quirk probes of `check --podio-quirks`: measures on the user's own account what reference §12 leaves open,
/// read only, within `quirkBudget` calls: the items a filter page serves with `limit=500`,
/// whether `offset` pages an item's comments, the tiers of discovery and the other endpoints,
/// and a few cheap readings seen on the way.
struct QuirkProbes: Sendable {
    var settings: MirrorSettings

    func measure(identity: PodioCheck.Identity, side: inout ProbeSession) async -> [CheckReport.Quirk] {
        var rows: [CheckReport.Quirk] = []
        let client = identity.client
        // Lines of failed calls are not wanted here: an answer that failed is the row's answer.
        var failures: [String] = []
        func note(_ line: CheckReport.Line) { failures.append(line.message) }
        func row(_ question: String, _ answer: String, _ evidence: String) {
            rows.append(CheckReport.Quirk(question: question, answer: answer, evidence: evidence))
        }

        // Discovery (a user identity only: an app token sees its app alone).
        if identity.appID == nil, let orgs = side.organizations {
            let embedded = orgs.filter { $0.spaces != nil }.count
            row(
                "GET /org/ embeds each organization's spaces", embedded == orgs.count ? "yes" : "no",
                "\(embedded) of \(orgs.count) organizations came with `spaces`")
            if let org = orgs.first {
                let spaces = await side.call("listing the spaces of organization \(org.orgID)", note) {
                    try await client.spaces(organizationID: org.orgID)
                }
                if let space = spaces?.first ?? org.spaces?.first {
                    _ = await side.call("reading space \(space.spaceID)", note) {
                        try await client.space(space.spaceID)
                    }
                }
            }
        }

        // The largest counted app: one filter page with limit=500.
        if let largest = side.counts.max(by: { $0.items < $1.items }) {
            let (appID, count) = (largest.appID, largest.items)
            let page = await side.call("a filter page of 500 of app \(appID)", note) {
                try await client.filterItems(appID: appID, ItemFilter(limit: .maximum))
            }
            if let page {
                let served = page.items.count
                let answer: String
                if page.filtered >= 500 {
                    answer = served == 500 ? "500 (as asked)" : "\(served) (fewer than asked)"
                } else {
                    answer = served == page.filtered ? "all \(served) (the app has fewer than 500)" : "\(served)"
                }
                row(
                    "items a filter page serves with limit=500", answer,
                    "app \(appID): \(served) items served, filtered \(page.filtered), total \(page.total)")
                row(
                    "item count equals the filter's total", count == page.total ? "yes" : "no",
                    "GET …/count said \(count); the filter said total \(page.total), filtered \(page.filtered)")
                if let item = page.items.first {
                    let object = (try? JSONSerialization.jsonObject(with: item.raw)) as? [String: Any]
                    row(
                        "filter items carry `files` without asking", object?["files"] != nil ? "yes" : "no",
                        "item \(item.itemID) of the page")
                }
                await measureCommentPaging(page: page, client: client, side: &side, note: note, row: row)
            } else {
                row("items a filter page serves with limit=500", "not measured", failures.last ?? "no call was made")
            }
        } else {
            row("items a filter page serves with limit=500", "not measured", "no app was counted")
        }

        // Endpoints not called yet, for their tiers.
        if let item = side.firstItem, let appID = side.apps.first {
            let called = Set(side.gate.answers.map(\.endpoint.name))
            if !called.contains(PodioEndpoint.itemRevisions.name) {
                _ = await side.call("the revisions of item \(item.itemID)", note) {
                    try await client.itemRevisions(itemID: item.itemID)
                }
            }
            if !called.contains(PodioEndpoint.appHooks.name) {
                _ = await side.call("listing the hooks of app \(appID)", note) {
                    try await client.hooks(appID: appID)
                }
            }
        }
        var seen: Set<String> = []
        for answer in side.gate.answers where seen.insert(answer.endpoint.name).inserted {
            let limit = side.gate.answers.first { $0.endpoint == answer.endpoint && $0.headers.limit != nil }?.headers
                .limit
            let tier = limit.flatMap { settings.quota.tier(forLimit: $0) }
            row(
                "tier of \(answer.endpoint.name)", tier?.rawValue ?? "unknown",
                limit.map { "X-Rate-Limit-Limit \($0)" } ?? "no X-Rate-Limit-Limit in the answer")
        }
        for failure in failures { row("a call failed", "—", failure) }
        return rows
    }

    /// Whether `offset` pages an item's comments, and whether `limit` bounds them: the item of
    /// the page with the most comments (two at least), read as two pages of one and one of 500.
    private func measureCommentPaging(
        page: ItemPage, client: PodioClient, side: inout ProbeSession, note: (CheckReport.Line) -> Void,
        row: (String, String, String) -> Void
    ) async {
        guard
            let item = page.items.filter({ ($0.commentCount ?? 0) >= 2 })
                .max(by: { ($0.commentCount ?? 0) < ($1.commentCount ?? 0) }),
            let commentCount = item.commentCount
        else {
            row("`offset` pages an item's comments", "not measured", "no item of the page has two comments or more")
            return
        }
        func ids(_ page: CommentPage?) -> [Int]? {
            guard let page, let array = (try? JSONSerialization.jsonObject(with: page.body)) as? [[String: Any]] else {
                return nil
            }
            return array.compactMap { ($0["comment_id"] as? NSNumber)?.intValue }
        }
        let firstPage = await side.call("comments of item \(item.itemID) (limit 1, offset 0)", note) {
            try await client.comments(itemID: item.itemID, limit: 1, offset: 0)
        }
        let secondPage = await side.call("comments of item \(item.itemID) (limit 1, offset 1)", note) {
            try await client.comments(itemID: item.itemID, limit: 1, offset: 1)
        }
        let allPage = await side.call("comments of item \(item.itemID) (limit 500)", note) {
            try await client.comments(itemID: item.itemID, limit: 500, offset: 0)
        }
        let (first, second, all) = (ids(firstPage), ids(secondPage), ids(allPage))
        if let first, let second {
            let answer =
                first.isEmpty || second.isEmpty
                ? "unclear (an empty page)" : first == second ? "no: offset is ignored" : "yes"
            row(
                "`offset` pages an item's comments", answer,
                "item \(item.itemID) (comment_count \(commentCount)): offset 0 gave \(first), offset 1 gave \(second)")
            row(
                "`limit` bounds a page of comments", first.count <= 1 ? "yes" : "no",
                "limit 1 served \(first.count) comments")
        }
        if let all {
            row(
                "a page with limit=500 serves every comment", all.count == commentCount ? "yes" : "no",
                "served \(all.count) of comment_count \(commentCount)")
        }
    }
}
