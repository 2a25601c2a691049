import Foundation
import PodioAPI

/// The endpoint probes of `check`: one cheap call to each endpoint the mirror uses, then the
/// item counts of the apps; and the lines they give: the tier of each endpoint, what the quota
/// has left, and the first load's estimate.
struct EndpointProbes: Sendable {
    var settings: MirrorSettings
    var hookURL: String?

    /// One cheap call to each endpoint the mirror uses, then the item counts of the apps.
    func probe(_ identities: [PodioCheck.Identity], side: inout ProbeSession, _ add: (CheckReport.Line) -> Void) async {
        var listed: [Int] = []
        if let user = identities.first(where: { $0.appID == nil })?.client {
            if let orgs = await side.call("listing the organizations", add, { try await user.organizations() }) {
                side.organizations = orgs
                var spaces = orgs.first?.spaces
                if let org = orgs.first, spaces == nil {
                    spaces = await side.call("listing the spaces of organization \(org.orgID)", add) {
                        try await user.spaces(organizationID: org.orgID)
                    }
                }
                let spaceCount = orgs.reduce(0) { $0 + ($1.spaces?.count ?? 1) }
                if let space = spaces?.first {
                    let apps = await side.call("listing the apps of space \(space.spaceID)", add) {
                        try await user.apps(spaceID: space.spaceID, includeInactive: true)
                    }
                    listed = apps?.map(\.appID) ?? []
                    side.appsPartial = spaceCount > 1 || orgs.count > 1
                }
            }
        }
        let appClients = Dictionary(
            identities.compactMap { identity in identity.appID.map { ($0, identity.client) } },
            uniquingKeysWith: { a, _ in a })
        let user = identities.first(where: { $0.appID == nil })?.client
        side.apps = settings.apps ?? Array(Set(listed).union(appClients.keys)).sorted()
        if settings.apps != nil { side.appsPartial = false }
        guard let first = side.apps.first else {
            add(
                .init(
                    check: "apps", status: .warning, message: "no app to mirror was found",
                    fix: "set PODIO_APPS, or check that the user sees the apps in Podio"))
            return
        }
        guard let client = appClients[first] ?? user else { return }
        _ = await side.call("reading app \(first)", add) { try await client.app(first) }
        let page = await side.call("a filter page of app \(first)", add) {
            try await client.filterItems(appID: first, ItemFilter(limit: PageSize(clamping: 1)))
        }
        if let count = await side.call(
            "counting the items of app \(first)", add,
            {
                try await client.itemCount(appID: first)
            })
        {
            side.counts.append((first, count))
        }
        if let item = page?.items.first {
            side.firstItem = item
            _ = await side.call("reading item \(item.itemID)", add) { try await client.item(item.itemID) }
            if settings.comments {
                _ = await side.call("the comments of item \(item.itemID)", add) {
                    try await client.comments(itemID: item.itemID, limit: 100, offset: 0)
                }
            }
            if !settings.deepHistory.isOff {
                _ = await side.call("the revisions of item \(item.itemID)", add) {
                    try await client.itemRevisions(itemID: item.itemID)
                }
            }
        }
        if hookURL != nil {
            _ = await side.call("listing the hooks of app \(first)", add) {
                try await client.hooks(appID: first)
            }
        }
        for appID in side.apps.dropFirst() where side.gate.left > 0 && !side.stopped {
            guard let client = appClients[appID] ?? user else { continue }
            if let count = await side.call(
                "counting the items of app \(appID)", add,
                {
                    try await client.itemCount(appID: appID)
                })
            {
                side.counts.append((appID, count))
            }
        }
    }

    /// One line per endpoint called: its tier by `X-Rate-Limit-Limit`.
    func addTierLines(side: ProbeSession, report: inout CheckReport, _ add: (CheckReport.Line) -> Void) {
        var seen: Set<String> = []
        let answers = side.gate.answers
        for answer in answers where seen.insert(answer.endpoint.name).inserted {
            let withLimit = answers.first { $0.endpoint == answer.endpoint && $0.headers.limit != nil } ?? answer
            let limit = withLimit.headers.limit
            let tier = limit.flatMap { settings.quota.tier(forLimit: $0) }
            let assumed = answer.endpoint.defaultTier
            report.tiers.append(
                CheckReport.Tier(
                    endpoint: answer.endpoint.name, limit: limit, remaining: withLimit.headers.remaining,
                    tier: tier?.rawValue, assumed: assumed.rawValue))
            guard let limit else {
                add(
                    .init(
                        check: "tier", status: .warning,
                        message:
                            "\(answer.endpoint.name): the answer carried no X-Rate-Limit-Limit; counted as \(assumed.rawValue)"
                    ))
                continue
            }
            guard let tier else {
                add(
                    .init(
                        check: "tier", status: .note,
                        message:
                            "\(answer.endpoint.name): limit \(limit), which names no tier (a server without limits?)"
                    ))
                continue
            }
            var message = "\(answer.endpoint.name): \(tier.rawValue) (X-Rate-Limit-Limit \(limit))"
            if tier != assumed { message += "; the mirror assumed \(assumed.rawValue) and counts it as Podio says" }
            add(.init(check: "tier", status: .ok, message: message))
        }
    }

    /// Per identity and tier: what Podio's last answer says is left, and the ledger's count.
    /// Returns the least the ledger counts free per tier (none without a ledger).
    func addQuotaLines(side: ProbeSession, _ add: (CheckReport.Line) -> Void) async -> [QuotaTier: Int] {
        var ledgerFree: [QuotaTier: Int] = [:]
        let answers = side.gate.answers
        var keys: [(String, QuotaTier)] = []
        for answer in answers {
            let tier = side.gate.tier(of: answer.endpoint, limit: answer.headers.limit)
            if !keys.contains(where: { $0 == (answer.identity, tier) }) { keys.append((answer.identity, tier)) }
        }
        for (identity, tier) in keys {
            let last = answers.last {
                $0.identity == identity && side.gate.tier(of: $0.endpoint, limit: $0.headers.limit) == tier
                    && $0.headers.remaining != nil
            }
            let configured = settings.quota.limit(tier)
            var message = "\(identity) \(tier.rawValue): "
            var status = CheckReport.Status.ok
            var fix: String?
            if let remaining = last?.headers.remaining, let limit = last?.headers.limit {
                message += "Podio says \(remaining) of \(limit) left this hour"
                if remaining < CheckGate.floor(limit: limit) {
                    status = .warning
                    message += " (little)"
                }
                let variable = tier == .rateLimited ? "PODIO_RATE_LIMIT" : "PODIO_RATE_LIMIT_GENERAL"
                if limit < configured && settings.quota.tier(forLimit: limit) == tier {
                    // Not a failure: the ledger keeps to the lower limit Podio shows (docs/quota.md).
                    status = .warning
                    message += "; \(variable) is \(configured), more than Podio allows (the ledger keeps to \(limit))"
                    fix = "set \(variable)=\(limit), so that status and the metrics show Podio's limit"
                } else if limit > configured && settings.quota.tier(forLimit: limit) == tier {
                    message += "; \(variable) is \(configured) (Podio allows more: \(variable)=\(limit) would use it)"
                }
            } else {
                message += "Podio's answers carried no X-Rate-Limit-Remaining"
                status = .warning
            }
            if let ledger = side.ledger, let free = try? await ledger.freeCalls(identity: identity, tier: tier) {
                message += "; the quota ledger counts \(free) of \(settings.quota.allowed(tier)) free for the mirror"
                ledgerFree[tier] = min(free, ledgerFree[tier] ?? free)
            }
            add(.init(check: "quota", status: status, message: message, fix: fix))
        }
        return ledgerFree
    }

    /// The first load: rate-limited calls from the item counts, and how long the quota makes it.
    func addEstimate(side: ProbeSession, ledgerFree: Int?, _ add: (CheckReport.Line) -> Void) {
        guard !side.counts.isEmpty else { return }
        let items = side.counts.reduce(0) { $0 + $1.items }
        let pageSize = PageSize.maximum.value
        let calls = side.counts.reduce(0) { $0 + max(1, ($1.items + pageSize - 1) / pageSize) }
        let lastRateLimited = side.gate.answers.last {
            side.gate.tier(of: $0.endpoint, limit: $0.headers.limit) == .rateLimited && $0.headers.remaining != nil
        }
        // The ledger enforces Podio's limit where it is lower than the configured one.
        let limit = min(
            settings.quota.rateLimited, lastRateLimited?.headers.limit.flatMap { $0 > 0 ? $0 : nil } ?? Int.max)
        let allowed = settings.quota.allowed(quota: limit)
        let rateLimitedLeft = lastRateLimited?.headers.remaining
        let left = min(allowed, rateLimitedLeft ?? allowed, ledgerFree ?? allowed)
        var message =
            "\(items) items in \(side.counts.count) app\(side.counts.count == 1 ? "" : "s"): ~\(calls) rate-limited calls (pages of \(pageSize)); "
            + "the quota allows \(allowed) per \(DurationParser.describe(settings.quota.window)), \(left) now"
        if calls <= left {
            message += ": the first load fits in what is left now"
        } else {
            let windows = Int((Double(calls - left) / Double(allowed)).rounded(.up))
            message +=
                ": the first load takes about \(DurationParser.approximate(Double(windows) * settings.quota.window)) of quota windows"
        }
        if settings.comments { message += "; comments cost one general call per item that has any" }
        if !settings.deepHistory.isOff { message += "; deep history one or more general calls per item" }
        var fix: String?
        let uncounted = side.apps.count - side.counts.count
        if uncounted > 0 || side.appsPartial {
            message +=
                side.appsPartial
                ? " (only the apps of the first space were counted)" : " (\(uncounted) more apps were not counted)"
            fix = "`podio-mirror apps --count` counts every app (one rate-limited call each)"
        }
        add(.init(check: "estimate", status: fix == nil ? .ok : .note, message: message, fix: fix))
    }
}
