import Foundation
import LibPQ
import PodioAPI

/// Podio's part of `check`: the credentials, the tiers of the endpoints the mirror uses, what the
/// quota has left, and the first load's estimate.
extension MirrorCheck {
    /// The Podio side of one run of the check.
    struct PodioSide {
        var gate: CheckGate
        var ledger: QuotaLedger?
        /// Set once a call was refused (the announced calls are spent, or the quota is low):
        /// no further call is tried.
        var stopped = false
        /// Item counts of the apps, in the order asked.
        var counts: [(appID: Int, items: Int)] = []
        /// The apps the first load would mirror.
        var apps: [Int] = []
        /// Whether `apps` may lack apps (PODIO_APPS unset, and more spaces than were listed).
        var appsPartial = false
        var firstItem: PodioItem?
        /// The answer of `GET /org/`.
        var organizations: [PodioOrganization]?
    }

    /// A configured identity and its client.
    struct Identity {
        var label: String
        var client: PodioClient
        var appID: Int?
    }

    /// Adds the lines of Podio's checks; returns the tiers, quirks and calls (no lines).
    func checkPodio(database: DatabaseState, _ add: (CheckReport.Line) -> Void) async -> CheckReport {
        var report = CheckReport()
        let apiKey: PodioAPIKey
        do {
            apiKey = try settings.requireAPIKey()
        } catch {
            let classified = MirrorError(classifying: error)
            add(
                .init(
                    check: "credentials", status: .fail, message: classified.message, fix: classified.fix, exitCode: 64)
            )
            return report
        }
        // With a current schema, calls are booked in the ledger and tokens kept in the token
        // store, as a sync does; otherwise the check's own gate guards the quota from the headers.
        var ledgerDB: PGConnection?
        if database.schemaCurrent {
            ledgerDB = try? await PGConnection.connect(
                settings.databaseURL, applicationName: "podio-mirror ledger", logger: logger)
        }
        defer { ledgerDB?.close() }
        var ledger: QuotaLedger?
        var store: PostgresTokenStore?
        if let ledgerDB {
            ledger = QuotaLedger(
                db: ledgerDB, policy: settings.quota, clock: clock, deadline: clock.now(), logger: logger)
            store = PostgresTokenStore(db: ledgerDB, coolDown: settings.quota.coolDown, clock: clock, logger: logger)
        }
        let planned = plannedCalls()
        let gate = CheckGate(
            inner: ledger ?? OpenGate(), policy: settings.quota, budget: planned, guardsQuota: ledger == nil)
        var identities: [Identity] = []
        func client(_ credentials: PodioCredentials) -> PodioClient {
            var configuration = PodioClient.Configuration(
                apiURL: settings.apiURL, apiKey: apiKey, credentials: credentials)
            configuration.requestTimeout = settings.requestTimeout
            // Every attempt is a call: a failure is reported, not tried again.
            configuration.retry = RetryPolicy(maxAttempts: 1)
            configuration.rateLimitRetries = 0
            // A refused token is reported (exit 77), not renewed: each renewal is a call to the
            // token endpoint, which has a throttle of its own, and none was announced.
            configuration.tokenRefreshesPerCall = 0
            return PodioClient(
                configuration: configuration, transport: transport, tokenStore: store, gate: gate, clock: clock,
                logger: logger)
        }
        switch settings.userCredentials {
        case .password(let username, let password)?:
            identities.append(
                Identity(
                    label: "password flow (PODIO_USERNAME \(username))",
                    client: client(.password(username: username, password: password))))
        case .stored?:
            identities.append(
                Identity(
                    label: "authorization-code flow (the tokens `podio-mirror login` stored)", client: client(.stored)))
        case .app?, nil:
            break
        }
        for (appID, token) in settings.appTokens.sorted(by: { $0.key < $1.key }) {
            identities.append(
                Identity(
                    label: "app authentication (PODIO_APP_AUTH app \(appID))",
                    client: client(.app(appID: appID, appToken: token)), appID: appID))
        }
        let grants = identities.count
        var plan =
            "Podio: at most \(planned) API calls and \(grants) token grant\(grants == 1 ? "" : "s") (one per identity)"
        if podioQuirks { plan += ", then at most \(Self.quirkBudget) calls more for --podio-quirks" }
        plan +=
            ledger == nil
            ? "; no quota ledger yet (no current schema): the check stops when Podio's headers say little is left"
            : "; booked in the quota ledger"
        add(.init(check: "plan", status: .ok, message: plan))

        var side = PodioSide(gate: gate, ledger: ledger)
        var working: [Identity] = []
        for identity in identities {
            let before = try? await store?.load(identity: identity.client.identity)
            do {
                try await identity.client.authenticate()
                let after = try? await store?.load(identity: identity.client.identity)
                let obtained = store == nil || after?.accessToken != before?.accessToken
                if obtained { report.tokenGrants += 1 }
                add(
                    .init(
                        check: "credentials", status: .ok,
                        message: identity.label
                            + (obtained
                                ? ": Podio granted a token"
                                : ": a stored token is valid (no grant needed; the first call below uses it)")))
                working.append(identity)
            } catch {
                if store == nil { report.tokenGrants += 1 }
                let classified = MirrorError(classifying: error)
                add(
                    .init(
                        check: "credentials", status: .fail, message: "\(identity.label): \(classified.message)",
                        fix: classified.fix, exitCode: classified.category.exitCode))
            }
        }
        if !working.isEmpty {
            await probe(working, side: &side, add)
            addTierLines(side: side, report: &report, add)
            let ledgerFree = await addQuotaLines(side: side, add)
            addEstimate(side: side, ledgerFree: ledgerFree[.rateLimited], add)
        }
        if podioQuirks {
            if let identity = working.first(where: { $0.appID == nil }) ?? working.first, !side.stopped {
                gate.allow(Self.quirkBudget)
                let rows = await measureQuirks(identity: identity, side: &side)
                report.quirks = rows
                add(
                    .init(
                        check: "quirks", status: .ok,
                        message:
                            "\(rows.count) readings of Podio measured (the table below, to paste into a bug report)"))
            } else {
                add(
                    .init(
                        check: "quirks", status: .skipped,
                        message: "not measured: no working credentials, or the quota had no room"))
            }
        }
        report.callsAnnounced = planned + (podioQuirks ? Self.quirkBudget : 0)
        report.callsSpent = gate.spent
        return report
    }

    /// The calls the probes need at most, within `callBudget`.
    func plannedCalls() -> Int {
        var calls = 0
        if settings.userCredentials != nil { calls += 3 }  // organizations, (spaces), apps of a space
        calls += 3  // the first app, a filter page of one item, the item count
        calls += 1  // one item
        if settings.comments { calls += 1 }
        if !settings.deepHistory.isOff { calls += 1 }
        if hookURL != nil { calls += 1 }
        let apps = settings.apps.map { Set($0).union(settings.appTokens.keys).count } ?? Self.callBudget
        calls += max(0, apps - 1)
        return min(Self.callBudget, calls)
    }

    /// One call; a refusal stops the probes (with a line), any other failure becomes a line.
    func call<T>(
        _ what: String, side: inout PodioSide, _ add: (CheckReport.Line) -> Void, _ body: () async throws -> T
    ) async -> T? {
        guard !side.stopped else { return nil }
        do {
            return try await body()
        } catch let refusal as CheckGate.Refusal {
            side.stopped = true
            add(
                .init(
                    check: "podio", status: .warning, message: "stopped before \(what): \(refusal.description)",
                    fix: "`podio-mirror check` again in an hour shows the rest"))
        } catch let deferral as QuotaDeferral {
            side.stopped = true
            add(
                .init(
                    check: "quota", status: .fail, message: "the quota ledger has no room for \(what) now: \(deferral)",
                    fix: "run the check again after then", exitCode: 75))
        } catch {
            let classified = MirrorError(classifying: error)
            // Past a limit Podio answers 420 to every call: the next probe would be wasted.
            if let podio = error as? PodioError, podio.kind == .rateLimited { side.stopped = true }
            add(
                .init(
                    check: "podio", status: .fail, message: "\(what): \(classified.message)",
                    fix: classified.fix ?? "check PODIO_APPS and PODIO_APP_AUTH against `podio-mirror apps`",
                    exitCode: Self.exitCode(of: error, classified)))
        }
        return nil
    }

    /// The exit code of a failed call: a refusal of this app or item (403) is a permission (77),
    /// one Podio does not know (404, 410, 400) a configuration to fix (64).
    static func exitCode(of error: any Error, _ classified: MirrorError) -> Int32 {
        guard classified.category == .other else { return classified.category.exitCode }
        if let error = error as? PodioError, error.status == 403 { return 77 }
        return error is PodioError ? 64 : 69
    }

    /// One cheap call to each endpoint the mirror uses, then the item counts of the apps.
    private func probe(_ identities: [Identity], side: inout PodioSide, _ add: (CheckReport.Line) -> Void) async {
        var listed: [Int] = []
        if let user = identities.first(where: { $0.appID == nil })?.client {
            if let orgs = await call("listing the organizations", side: &side, add, { try await user.organizations() })
            {
                side.organizations = orgs
                var spaces = orgs.first?.spaces
                if let org = orgs.first, spaces == nil {
                    spaces = await call("listing the spaces of organization \(org.orgID)", side: &side, add) {
                        try await user.spaces(organizationID: org.orgID)
                    }
                }
                let spaceCount = orgs.reduce(0) { $0 + ($1.spaces?.count ?? 1) }
                if let space = spaces?.first {
                    let apps = await call("listing the apps of space \(space.spaceID)", side: &side, add) {
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
        _ = await call("reading app \(first)", side: &side, add) { try await client.app(first) }
        let page = await call("a filter page of app \(first)", side: &side, add) {
            try await client.filterItems(appID: first, ItemFilter(limit: PageSize(clamping: 1)))
        }
        if let count = await call(
            "counting the items of app \(first)", side: &side, add,
            {
                try await client.itemCount(appID: first)
            })
        {
            side.counts.append((first, count))
        }
        if let item = page?.items.first {
            side.firstItem = item
            _ = await call("reading item \(item.itemID)", side: &side, add) { try await client.item(item.itemID) }
            if settings.comments {
                _ = await call("the comments of item \(item.itemID)", side: &side, add) {
                    try await client.comments(itemID: item.itemID, limit: 100, offset: 0)
                }
            }
            if !settings.deepHistory.isOff {
                _ = await call("the revisions of item \(item.itemID)", side: &side, add) {
                    try await client.itemRevisions(itemID: item.itemID)
                }
            }
        }
        if hookURL != nil {
            _ = await call("listing the hooks of app \(first)", side: &side, add) {
                try await client.hooks(appID: first)
            }
        }
        for appID in side.apps.dropFirst() where side.gate.left > 0 && !side.stopped {
            guard let client = appClients[appID] ?? user else { continue }
            if let count = await call(
                "counting the items of app \(appID)", side: &side, add,
                {
                    try await client.itemCount(appID: appID)
                })
            {
                side.counts.append((appID, count))
            }
        }
    }

    /// One line per endpoint called: its tier by `X-Rate-Limit-Limit`.
    private func addTierLines(side: PodioSide, report: inout CheckReport, _ add: (CheckReport.Line) -> Void) {
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
    private func addQuotaLines(side: PodioSide, _ add: (CheckReport.Line) -> Void) async -> [QuotaTier: Int] {
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
    private func addEstimate(side: PodioSide, ledgerFree: Int?, _ add: (CheckReport.Line) -> Void) {
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
