import Foundation
import LibPQ
import Logging
import PodioAPI

/// Podio's part of `check`: the configured identities and their credentials, then the endpoint
/// probes (`EndpointProbes`) and, with `--podio-quirks`, the quirk probes (`QuirkProbes`), all
/// within the calls announced first.
struct PodioCheck: Sendable {
    var settings: MirrorSettings
    var hookURL: String?
    var podioQuirks: Bool
    let transport: any HTTPTransport
    let clock: any WallClock
    let logger: Logger

    /// A configured identity and its client.
    struct Identity {
        var label: String
        var client: PodioClient
        var appID: Int?
    }

    /// Adds the lines of Podio's checks; returns the tiers, quirks and calls (no lines). With a
    /// current schema (`schemaCurrent`) the calls are booked in the quota ledger.
    func run(schemaCurrent: Bool, _ add: (CheckReport.Line) -> Void) async -> CheckReport {
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
        if schemaCurrent {
            ledgerDB = try? await PGConnection.connect(
                settings.databaseURL, applicationName: "podio-mirror ledger", logger: logger)
        }
        defer { ledgerDB?.close() }
        var ledger: QuotaLedger?
        var store: PostgresTokenStore?
        if let ledgerDB {
            ledger = QuotaLedger(
                db: ledgerDB, policy: settings.quota, clock: clock, deadline: clock.now(),
                requestTimeout: settings.requestTimeout, logger: logger)
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
        if podioQuirks { plan += ", then at most \(MirrorCheck.quirkBudget) calls more for --podio-quirks" }
        plan +=
            ledger == nil
            ? "; no quota ledger yet (no current schema): the check stops when Podio's headers say little is left"
            : "; booked in the quota ledger"
        add(.init(check: "plan", status: .ok, message: plan))

        var side = ProbeSession(gate: gate, ledger: ledger)
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
            let endpoints = EndpointProbes(settings: settings, hookURL: hookURL)
            await endpoints.probe(working, side: &side, add)
            endpoints.addTierLines(side: side, report: &report, add)
            let ledgerFree = await endpoints.addQuotaLines(side: side, add)
            endpoints.addEstimate(side: side, ledgerFree: ledgerFree[.rateLimited], add)
        }
        if podioQuirks {
            if let identity = working.first(where: { $0.appID == nil }) ?? working.first, !side.stopped {
                gate.allow(MirrorCheck.quirkBudget)
                let rows = await QuirkProbes(settings: settings).measure(identity: identity, side: &side)
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
        report.callsAnnounced = planned + (podioQuirks ? MirrorCheck.quirkBudget : 0)
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
        let apps = settings.apps.map { Set($0).union(settings.appTokens.keys).count } ?? MirrorCheck.callBudget
        calls += max(0, apps - 1)
        return min(MirrorCheck.callBudget, calls)
    }
}
