import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import Synchronization
import TestSupport
import Testing

/// Issue 23: never a 420, on any tier. Each test runs the ledger against the simulator over HTTP
/// and PostgreSQL; the simulator's counts are the oracle (`Stats.rateLimitErrors`,
/// `maxCallsInWindow`), never the ledger's own.
@Suite("Quota tiers: unknown tiers, the server's limits and count, 420s")
struct QuotaTierTests {
    static let credentials = PodioCredentials.password(username: "demo@example.com", password: "sim-password")

    /// A client of the harness's simulator through `gate` (an `OpenGate` is another tool on the
    /// same key: its calls bypass the ledger).
    static func client(_ h: EngineHarness, gate: any CallGate, clock: any WallClock = SystemClock()) -> PodioClient {
        var configuration = PodioClient.Configuration(
            apiURL: h.simulator.baseURL, apiKey: h.settings.apiKey ?? PodioAPIKey(clientID: "", clientSecret: ""),
            credentials: credentials)
        configuration.retry = RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.05, maxElapsed: 10)
        configuration.requestTimeout = 10
        return PodioClient(
            configuration: configuration, transport: h.transport, gate: gate, clock: clock, logger: EngineHarness.logger
        )
    }

    static var identity: String { credentials.identity(clientID: "podio-mirror-dev") }

    /// Per tier, what the ledger has booked in the window: `QuotaUsage.used` without the
    /// server's count of other calls, read straight from `podio.api_calls`.
    static func booked(_ h: EngineHarness) async throws -> [QuotaTier: Int] {
        var out: [QuotaTier: Int] = [:]
        for tier in QuotaTier.allCases {
            out[tier] = try await h.count(
                "SELECT count(*) FROM podio.api_calls WHERE credential = $1 AND (tier = $2 OR both_tiers)",
                [identity, tier.rawValue])
        }
        return out
    }

    @Test func aCallOfAnUnknownTierIsBookedOnBothUntilTheHeadersSettleIt() async throws {
        try await EngineHarness.with(
            apps: [PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 10, fields: .simple)],
            simulatorLimits: (5, 50, 600), configure: { $0.manualClock = true }
        ) { h in
            // Either way round: the engine assumes GET /org/ general and the space's app list
            // rate-limited; this server has them the other way.
            h.simulator.setQuirks(
                PodioSimulator.Quirks(tiers: ["GET /org/": "rate_limited", "GET /app/space/{space_id}/": "general"]))
            let clock = TestClock()
            let policy = QuotaPolicy(rateLimited: 5, general: 50, window: 600, reserve: 0)
            let ledger = QuotaLedger(db: h.db, policy: policy, clock: clock, logger: EngineHarness.logger)
            let gate = WatchingGate(ledger: ledger, harness: h)
            let client = Self.client(h, gate: gate, clock: clock)

            // Nothing learned: booked on both while in flight; the answer's limit (5) settles it
            // on the rate-limited tier and the general booking goes.
            let orgs = try await client.organizations()
            #expect(gate.inFlight.last == [.rateLimited: 1, .general: 1])
            #expect(try await Self.booked(h) == [.rateLimited: 1, .general: 0])
            #expect(
                try await h.scalar("SELECT tier FROM podio.endpoint_tiers WHERE endpoint = 'GET /org/'")
                    == "rate_limited")

            // The other way round: assumed rate-limited, served general.
            let space = try #require(orgs.first?.spaces?.first?.spaceID)
            _ = try await client.apps(spaceID: space)
            #expect(gate.inFlight.last == [.rateLimited: 2, .general: 1])
            #expect(try await Self.booked(h) == [.rateLimited: 1, .general: 1])

            // Learned: booked on its tier alone.
            _ = try await client.organizations()
            #expect(gate.inFlight.last == [.rateLimited: 2, .general: 1])

            // An answer without Podio's headers (a load balancer's 503) settles nothing: that
            // booking stays on both tiers; the retry's answer settles its own.
            let item = try h.simulator.createItem(appID: h.simulator.appIDs()[0])
            h.simulator.injectFaults(.serverError, count: 1)
            _ = try await client.item(item)
            #expect(try await Self.booked(h) == [.rateLimited: 3, .general: 3])
            #expect(
                try await h.count("SELECT count(*) FROM podio.api_calls WHERE both_tiers AND status >= 500") == 1)

            // A call of an unknown tier must fit in both: the rate-limited tier is full (5 of 5),
            // so GET /app/{id}, assumed general, waits although the general tier has room.
            _ = try await client.organizations()
            _ = try await client.organizations()
            #expect(try await ledger.freeCalls(identity: Self.identity, tier: .rateLimited) == 0)
            #expect(try await ledger.freeCalls(identity: Self.identity, tier: .general) == 47)
            let strict = QuotaLedger(
                db: h.db, policy: policy, clock: clock, deadline: clock.now(), logger: EngineHarness.logger)
            let deferral = await #expect(throws: QuotaDeferral.self) {
                _ = try await Self.client(h, gate: strict, clock: clock).app(h.simulator.appIDs()[0])
            }
            #expect(deferral?.tier == .rateLimited)
            #expect(h.simulator.stats().rateLimitErrors == 0)
            #expect(h.simulator.stats().callsByEndpoint["GET /app/{app_id}"] == nil)
        }
    }

    @Test func theServersCountIsAFloorWhenAnotherToolSpendsTheSameCalls() async throws {
        // The second case: the server's general limit (20) is far below the configured
        // one (the default 1000), and another tool spends the same user's calls.
        try await EngineHarness.with(
            simulatorLimits: (250, 20, 3600), configure: { $0.manualClock = true }
        ) { h in
            let clock = TestClock()
            let other = Self.client(h, gate: OpenGate())
            for _ in 0..<15 { _ = try await other.organizations() }

            let ledger = QuotaLedger(
                db: h.db, policy: QuotaPolicy(), clock: clock, deadline: clock.now().addingTimeInterval(1),
                logger: EngineHarness.logger)
            let mirror = Self.client(h, gate: ledger, clock: clock)
            var made = 0
            var deferral: QuotaDeferral?
            while made < 30 {
                do {
                    _ = try await mirror.organizations()
                    made += 1
                } catch let error as QuotaDeferral {
                    deferral = error
                    break
                }
            }
            // The quota is the server's 20 less the 5% reserve (19); the other tool's 15 count:
            // 4 calls of the mirror's, then it waits a window.
            #expect(made == 4)
            #expect(deferral != nil)
            let stats = h.simulator.stats()
            #expect(stats.rateLimitErrors == 0)
            #expect(stats.maxCallsInWindow["general"] == 19)
            let usage = try await ledger.usage(identity: Self.identity)
            let counted = try #require(usage.first(where: { $0.used > 0 }))
            #expect(counted.quota == 20 && counted.allowed == 19 && counted.used == 19 && counted.external == 15)
        }
    }

    @Test func a420PausesEveryTierForEveryProcessSharingTheDatabase() async throws {
        try await EngineHarness.with(
            simulatorLimits: (10, 100, 600), configure: { $0.manualClock = true }
        ) { h in
            let clock = TestClock()
            let policy = QuotaPolicy(rateLimited: 10, general: 100, window: 600, reserve: 0)
            let other = try await h.database.connect()
            defer { other.close() }
            let a = QuotaLedger(
                db: h.db, policy: policy, clock: clock, deadline: clock.now().addingTimeInterval(1),
                logger: EngineHarness.logger)
            let b = QuotaLedger(
                db: other, policy: policy, clock: clock, deadline: clock.now().addingTimeInterval(1),
                logger: EngineHarness.logger)
            let one = Self.client(h, gate: a, clock: clock)
            let two = Self.client(h, gate: b, clock: clock)
            _ = try await two.organizations()  // the general tier is learned

            // Podio answers a general call 420, "Please wait 600 seconds".
            h.simulator.injectFaults(.rateLimit, count: 1)
            let first = await #expect(throws: QuotaDeferral.self) { _ = try await one.organizations() }
            #expect(abs((first?.freesAt.timeIntervalSince(clock.now()) ?? 0) - 600) < 1)

            // The other process waits as long, on either tier, and asks Podio nothing.
            for tier in QuotaTier.allCases {
                #expect(try await b.freeCalls(identity: Self.identity, tier: tier) == 0)
            }
            let rateLimited = await #expect(throws: QuotaDeferral.self) {
                _ = try await two.itemCount(appID: h.simulator.appIDs()[0])
            }
            #expect(abs((rateLimited?.freesAt.timeIntervalSince(clock.now()) ?? 0) - 600) < 1)
            await #expect(throws: QuotaDeferral.self) { _ = try await two.organizations() }
            #expect(h.simulator.stats().rateLimitErrors == 1)
            #expect(h.simulator.stats().callsByEndpoint["GET /item/app/{app_id}/count"] == nil)

            // Once the wait is over, both tiers serve again.
            clock.advance(601)
            h.simulator.advanceClock(seconds: 601)
            #expect(try await two.itemCount(appID: h.simulator.appIDs()[0]) >= 0)
            _ = try await one.organizations()
        }
    }

    @Test(.tags(.slow)) func aSyncWithCommentsUnderAGeneralQuotaOf60Per30sNeverGetsA420() async throws {
        // The report: PODIO_RATE_LIMIT_GENERAL=60, PODIO_RATE_WINDOW=30s, comments on,
        // a server counting in a rolling window that serves the space's app list on the general
        // tier (the engine assumes rate-limited) and stops every call past a limit.
        let apps = [PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 400, fields: .simple)]
        try await EngineHarness.with(
            apps: apps, quota: QuotaPolicy(rateLimited: 250, general: 60, window: 30), simulatorLimits: (250, 60, 30),
            comments: true, configure: { $0.manualClock = true }
        ) { h in
            h.simulator.setQuirks(
                PodioSimulator.Quirks(tiers: ["GET /app/space/{space_id}/": "general"], limitStopsEveryCall: true))
            let clock = SimulatorLinkedClock(simulator: h.simulator)
            var runs = 0
            var pending = -1
            while pending != 0 && runs < 6 {
                try await h.waitForEarlierRunsToLetGo()
                let summary = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync, maxWait: 120))
                #expect(summary.status == .succeeded)
                #expect(summary.rateLimitErrors == 0)
                pending = summary.comments?.itemsPending ?? -1
                runs += 1
                clock.advance(30)
            }
            let stats = h.simulator.stats()
            #expect(stats.rateLimitErrors == 0)
            #expect((stats.maxCallsInWindow["general"] ?? 99) <= 60)
            // More comment reads than one window's quota: the runs spread them.
            #expect((stats.callsByEndpoint["GET /comment/item/{item_id}/"] ?? 0) > 60)
            #expect(runs > 1 && pending == 0)
            #expect(try await CommentTests.differences(h) == [])
            #expect(try await h.differences() == [])
        }
    }
}

/// Forwards to the ledger and notes, while each call is in flight, what the ledger has booked.
final class WatchingGate: CallGate {
    let ledger: QuotaLedger
    let harness: EngineHarness
    private let seen = Mutex<[[QuotaTier: Int]]>([])

    init(ledger: QuotaLedger, harness: EngineHarness) {
        self.ledger = ledger
        self.harness = harness
    }

    /// The bookings seen while each call was in flight, in order.
    var inFlight: [[QuotaTier: Int]] { seen.withLock { $0 } }

    func acquire(_ endpoint: PodioEndpoint, identity: String) async throws -> CallPermit {
        let permit = try await ledger.acquire(endpoint, identity: identity)
        let booked = try await QuotaTierTests.booked(harness)
        seen.withLock { $0.append(booked) }
        return permit
    }

    func complete(_ permit: CallPermit, status: Int?, headers: RateLimitHeaders, retryAfterSeconds: Int?) async {
        await ledger.complete(permit, status: status, headers: headers, retryAfterSeconds: retryAfterSeconds)
    }
}

/// The ledger's clock and the simulator's manual clock moved together: a wait of the ledger is
/// time passing for the simulator's rate windows too.
final class SimulatorLinkedClock: WallClock {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    let simulator: PodioSimulator

    init(simulator: PodioSimulator) { self.simulator = simulator }

    func now() -> Date { current.withLock { $0 } }

    func sleep(until deadline: Date) async throws {
        try Task.checkCancellation()
        let step = current.withLock { now -> Double in
            let step = max(0, deadline.timeIntervalSince(now))
            now = max(now, deadline)
            return step
        }
        if step > 0 { simulator.advanceClock(seconds: step) }
    }

    func advance(_ seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
        simulator.advanceClock(seconds: seconds)
    }
}
