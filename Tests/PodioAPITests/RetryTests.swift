import Foundation
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

@Suite("Retries, timeouts, rate limits and the call gate")
struct RetryTests {
    @Test func rateLimitSurfacesWithTheWaitPodioNamed() async throws {
        try await withClient(sim: {
            $0.rateLimit = 2; $0.rateWindow = 300
        }) { c in
            let client = c.makeClient(
                credentials: .password(username: c.simConfig.username, password: c.simConfig.password),
                gate: OpenGate()
            ) { $0.rateLimitRetries = 0 }
            _ = try await client.itemCount(appID: c.projects)
            _ = try await client.itemCount(appID: c.projects)
            let error = try #require(await podioError { try await client.itemCount(appID: c.projects) })
            #expect(error.kind == .rateLimited)
            #expect(error.status == 420)
            #expect(error.code == "rate_limit")
            #expect(error.endpoint == "GET /item/app/{app_id}/count")
            let wait = try #require(error.retryAfterSeconds)
            #expect((290...300).contains(wait))
            #expect(error.description.contains("Please wait \(wait) seconds"))
            #expect(c.sim.stats().rateLimitErrors == 1)  // not retried
            // The general tier is untouched.
            #expect(try await client.organizations().count == 1)
        }
    }

    @Test func injected420IsReportedToTheGateAndRetriedWhenAllowed() async throws {
        try await withClient(sim: { $0.rateWindow = 120 }, client: { $0.rateLimitRetries = 1 }) { c in
            _ = try await c.client.organizations()
            c.sim.injectFaults(.rateLimit, count: 1)
            #expect(try await c.client.organizations().count == 1)
            let completions = c.gate.completed
            #expect(completions.map(\.status) == [200, 420, 200])
            #expect(completions[1].headers.remaining == 0)
            let wait = try #require(completions[1].retryAfterSeconds)
            #expect((110...120).contains(wait))
            #expect(completions[0].retryAfterSeconds == nil)
            // Two 420s with one retry allowed: the second surfaces.
            c.sim.injectFaults(.rateLimit, count: 2)
            let error = await podioError { try await c.client.organizations() }
            #expect(error?.kind == .rateLimited)
            #expect(c.sim.stats().rateLimitErrors == 3)
        }
    }

    @Test func serverErrorsWithHTMLBodiesAreRetried() async throws {
        try await withClient { c in
            c.sim.injectFaults(.serverError, count: 2)
            let orgs = try await c.client.organizations()
            #expect(orgs.count == 1)
            #expect(c.served("GET /org/") == 3)  // two 5xx pages, then the answer
            #expect(c.sim.stats().errorsServed == 2)
            let statuses = c.gate.completed.map(\.status)
            #expect(statuses.count == 3)
            #expect(statuses.prefix(2).allSatisfy { [500, 502, 503].contains($0 ?? 0) })
            #expect(statuses.last == 200)
            // A load balancer page carries no rate-limit headers.
            #expect(c.gate.completed[0].headers == RateLimitHeaders(limit: nil, remaining: nil))
            #expect(c.logs.all.filter { $0.contains("retrying") }.count == 2)
        }
    }

    @Test func retriesStopAtTheBound() async throws {
        try await withClient { c in
            c.sim.injectFaults(.serverError, count: 10)
            let error = try #require(await podioError { try await c.client.organizations() })
            #expect(error.kind == .retryable)
            #expect(error.isRetryable)
            #expect([500, 502, 503].contains(error.status ?? 0))
            #expect(error.attempts == fastRetry.maxAttempts)
            #expect(error.description.contains("after \(fastRetry.maxAttempts) attempts"))
            // The load balancer's HTML page is named by its title, not pasted.
            #expect(error.description.contains("an HTML page ("))
            #expect(!error.description.contains("<"))
            #expect(c.served("GET /org/") == fastRetry.maxAttempts)  // exactly maxAttempts calls
            #expect(c.gate.acquired.count == fastRetry.maxAttempts)
            c.sim.clearFaults()
            #expect(try await c.client.organizations().count == 1)
        }
    }

    @Test func retriesStopAtTheTimeBound() async throws {
        try await withClient(client: { $0.retry.maxElapsed = 0 }) { c in
            c.sim.injectFaults(.serverError, count: 2)
            let error = await podioError { try await c.client.organizations() }
            #expect(error?.kind == .retryable)
            #expect(error?.attempts == 1)
            #expect(c.served("GET /org/") == 1)
        }
    }

    @Test func truncatedBodyIsRetried() async throws {
        try await withClient { c in
            c.sim.injectFaults(.truncatedJSON, count: 1)
            let app = try await c.client.app(c.projects)
            #expect(app.appID == c.projects)
            #expect(app.fields.count > 20)
            #expect(c.served("GET /app/{app_id}") == 2)
            #expect(c.gate.completed.map(\.status) == [200, 200])  // a 200 with half the JSON
        }
    }

    @Test func truncatedBodiesUpToTheBoundNameTheEndpoint() async throws {
        try await withClient { c in
            c.sim.injectFaults(.truncatedJSON, count: fastRetry.maxAttempts)
            let error = try #require(await podioError { try await c.client.app(c.projects) })
            #expect(error.kind == .retryable)
            #expect(error.status == 200)
            #expect(error.endpoint == "GET /app/{app_id}")
            #expect(error.description.contains("GET /app/{app_id}"))
            #expect(error.description.contains("not the JSON"))
            #expect(c.served("GET /app/{app_id}") == fastRetry.maxAttempts)
        }
    }

    @Test func cutConnectionIsRetried() async throws {
        try await withClient { c in
            c.sim.injectFaults(.cutBody, count: 2)
            let page = try await c.client.filterItems(appID: c.projects, ItemFilter(limit: PageSize(clamping: 20)))
            #expect(page.items.count == 20)
            #expect(c.served("POST /item/app/{app_id}/filter/") == 3)
            let statuses = c.gate.completed.map(\.status)
            #expect(statuses == [nil, nil, 200])  // no complete answer came for the cut ones
        }
    }

    @Test func cutConnectionsUpToTheBoundFailAsRetryable() async throws {
        try await withClient { c in
            c.sim.injectFaults(.cutBody, count: fastRetry.maxAttempts)
            let error = try #require(await podioError { try await c.client.organizations() })
            #expect(error.kind == .retryable)
            #expect(error.status == nil)
            #expect(error.attempts == fastRetry.maxAttempts)
            #expect(c.served("GET /org/") == fastRetry.maxAttempts)
        }
    }

    // The request timeout is real time: the tests that measure it run alone (`TestSlots`).
    @Test func slowResponseTimesOutAndIsRetried() async throws {
        try await withClient(client: { $0.requestTimeout = 0.4 }, slots: TestSlots.exclusive) { c in
            c.sim.injectFaults(.delay(milliseconds: 4_000), count: 1)
            let started = ContinuousClock.now
            let orgs = try await c.client.organizations()
            #expect(orgs.count == 1)
            #expect(ContinuousClock.now - started < .seconds(3))  // did not wait for the slow answer
            #expect(c.served("GET /org/") == 2)
            #expect(c.gate.completed.map(\.status) == [nil, 200])
        }
    }

    @Test func slowResponsePastTheTimeoutIsARetryableTimeout() async throws {
        try await withClient(
            client: {
                $0.requestTimeout = 0.3
                $0.retry.maxAttempts = 1
            }, slots: TestSlots.exclusive
        ) { c in
            c.sim.injectFaults(.delay(milliseconds: 4_000), count: 1)
            let started = ContinuousClock.now
            let error = try #require(await podioError { try await c.client.organizations() })
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(error.kind == .retryable)
            #expect(error.status == nil)
            #expect(error.detail.contains("timed out"))
            #expect(error.endpoint == "GET /org/")
        }
    }

    @Test func aBodyThatTricklesInPastTheTimeoutIsARetryableTimeout() async throws {
        // The head arrives at once and a piece of the body every ~200 ms: never idle, but the
        // whole answer takes 4 s. The request timeout bounds the call, body included.
        try await withClient(
            client: {
                $0.requestTimeout = 0.8
                $0.retry.maxAttempts = 1
            }, slots: TestSlots.exclusive
        ) { c in
            c.sim.injectFaults(.slowBody(milliseconds: 4_000), count: 1)
            let started = ContinuousClock.now
            let error = try #require(await podioError { try await c.client.app(c.projects) })
            #expect(ContinuousClock.now - started < .seconds(2.5))
            #expect(error.kind == .retryable)
            #expect(error.detail.contains("timed out"))
            #expect(error.endpoint == "GET /app/{app_id}")
        }
    }

    @Test func aSlowBodyWithinTheTimeoutIsRead() async throws {
        try await withClient(client: { $0.requestTimeout = 5 }) { c in
            c.sim.injectFaults(.slowBody(milliseconds: 600), count: 1)
            let app = try await c.client.app(c.projects)
            #expect(app.appID == c.projects)
            #expect(c.served("GET /app/{app_id}") == 1)
        }
    }

    @Test func callGateSeesEveryCallWithHeadersAndDefaultTiers() async throws {
        try await withClient { c in
            let projects = c.projects
            _ = try await c.client.organizations()
            _ = try await c.client.allApps()
            let app = try await c.client.app(projects)
            let spaceID = try #require(app.spaceID)
            _ = try await c.client.apps(spaceID: spaceID)
            _ = try await c.client.space(spaceID)
            let page = try await c.client.filterItems(appID: projects, ItemFilter(limit: PageSize(clamping: 5)))
            _ = try await c.client.itemCount(appID: projects)
            _ = try await c.client.item(try #require(page.items.first?.itemID))
            let orgID = try #require(try await c.client.organizations().first?.orgID)
            _ = try await c.client.spaces(organizationID: orgID)

            let expected: [PodioEndpoint] = [
                .organizations, .allApps, .app, .appsOfSpace, .space, .filterItems, .itemCount, .item, .organizations,
                .spacesOfOrganization,
            ]
            #expect(c.gate.acquired == expected)
            #expect(c.gate.identities.allSatisfy { $0 == c.client.identity })
            let completions = c.gate.completed
            try #require(completions.count == expected.count)
            // The simulator's limits are Podio's: 250 rate-limited, 1,000 general. The limit a
            // response carries must match the tier the endpoint defaults to.
            var used: [QuotaTier: Int] = [:]
            for completion in completions {
                #expect(completion.status == 200)
                used[completion.tier, default: 0] += 1
                let limit = completion.tier == .rateLimited ? 250 : 1000
                #expect(completion.headers.limit == limit, "\(completion.endpoint)")
                #expect(
                    completion.headers.remaining == limit - used[completion.tier, default: 0], "\(completion.endpoint)")
                #expect(completion.tier == completion.endpoint.defaultTier)
            }
            #expect(used == [.rateLimited: 4, .general: 6])
            #expect(c.sim.stats().callsByTier == ["rate_limited": 4, "general": 6])
            #expect(c.client.stats.requests == expected.count)
            #expect(c.client.stats.bytesReceived > 0)
        }
    }

    @Test func defaultTiersOfTheEndpoints() {
        #expect(PodioEndpoint.filterItems.defaultTier == .rateLimited)
        #expect(PodioEndpoint.itemCount.defaultTier == .rateLimited)
        #expect(PodioEndpoint.allApps.defaultTier == .rateLimited)
        #expect(PodioEndpoint.appsOfSpace.defaultTier == .rateLimited)
        #expect(PodioEndpoint.app.defaultTier == .general)
        #expect(PodioEndpoint.item.defaultTier == .general)
        #expect(PodioEndpoint.organizations.defaultTier == .general)
        #expect(PodioEndpoint.spacesOfOrganization.defaultTier == .general)
        #expect(PodioEndpoint.space.defaultTier == .general)
    }

    @Test func missingAndDeletedItemsAreClassified() async throws {
        try await withClient { c in
            let page = try await c.client.filterItems(appID: c.projects, ItemFilter(limit: PageSize(clamping: 1)))
            let itemID = try #require(page.items.first?.itemID)
            try c.sim.deleteItem(itemID: itemID)
            let gone = await podioError { try await c.client.item(itemID) }
            #expect(gone?.kind == .gone)
            #expect(gone?.status == 410)
            let missing = await podioError { try await c.client.item(999_999_999) }
            #expect(missing?.kind == .notFound)
            #expect(missing?.requestID?.isEmpty == false)
            #expect(c.served("GET /item/{item_id}") == 2)  // neither is retried
        }
    }
}

/// Forwards token requests and fails API calls with an error other than `TransportError`.
final class FailingTransport: HTTPTransport {
    let inner: any HTTPTransport
    let error: any Error & Sendable

    init(inner: any HTTPTransport, error: any Error & Sendable) {
        self.inner = inner
        self.error = error
    }

    func send(_ request: TransportRequest) async throws -> TransportResponse {
        if request.url.contains("/oauth/") { return try await inner.send(request) }
        throw error
    }
}

@Suite("Gate bookkeeping on every path")
struct GateBookkeepingTests {
    @Test func everyPermitIsHandedBackEvenWhenTheCallIsCancelled() async throws {
        try await withClient { c in
            let gate = SpyGate()
            let client = PodioClient(
                configuration: c.clientConfig,
                transport: FailingTransport(inner: c.transport, error: CancellationError()),
                tokenStore: c.store, gate: gate, logger: c.logs.logger())
            await #expect(throws: CancellationError.self) { try await client.organizations() }
            #expect(gate.acquired == [.organizations])
            #expect(gate.completed.count == 1)  // the ledger learns that no answer came
            #expect(gate.completed.first?.status == nil)
        }
    }

    @Test func cancellingAWaitingCallReportsIt() async throws {
        try await withClient(slots: TestSlots.exclusive) { c in  // measures real time: alone
            _ = try await c.client.organizations()
            c.sim.injectFaults(.delay(milliseconds: 4_000), count: 1)
            let client = c.client
            let task = Task { try await client.organizations() }
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            let started = ContinuousClock.now
            let result = await task.result
            #expect(throws: (any Error).self) { try result.get() }
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(c.gate.acquired.count == 2)  // cancelled: not retried
            #expect(c.gate.completed.count == 2)
            #expect(c.gate.completed.last?.status == nil)
        }
    }
}
