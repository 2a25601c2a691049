import Foundation
import PodioAPI
import PodioSimulator
import Testing

/// The token endpoint's inconvenient answers (reference §12): a two-step verification
/// challenge and its own throttle. Neither may be retried.
@Suite("Token endpoint: two-step verification and throttle")
struct TokenEndpointTests {
    @Test func twoStepVerificationIsRefusedAtOnceWithoutRetry() async throws {
        try await withClient(sim: { $0.twoStepVerification = true }) { c in
            let error = await podioError { try await c.client.organizations() }
            #expect(error?.kind == .credentialsRefused)
            #expect(error?.code == PodioError.twoStepVerificationCode)
            #expect(error?.status == 200)
            #expect(error?.attempts == 1)
            #expect(error?.description.contains("two-step verification") == true, "\(String(describing: error))")
            let stats = c.sim.stats()
            #expect(stats.twoStepChallenges == 1)
            #expect(stats.tokenRequests == 1)  // not retried, no fallback to the form endpoint
            #expect(stats.tokenGrants.isEmpty)
            #expect(await c.store.saves.isEmpty)
            #expect(c.gate.acquired.isEmpty)  // no API call was attempted
        }
    }

    @Test func twoStepVerificationSwitchedOnLaterStopsOnlyNewGrants() async throws {
        try await withClient { c in
            _ = try await c.client.organizations()
            c.sim.setTwoStepVerification(true)
            // The pair in hand still works and refreshes (a refresh is not a password grant).
            c.sim.injectFaults(.expireToken, count: 1)
            #expect(try await c.client.organizations().count == 1)
            #expect(c.grants == ["password": 1, "refresh_token": 1])
            // A client without a token must grant: refused, once.
            let fresh = c.makeClient(
                credentials: .password(username: c.simConfig.username, password: c.simConfig.password),
                store: MemoryTokenStore())
            let error = await podioError { try await fresh.authenticate() }
            #expect(error?.code == PodioError.twoStepVerificationCode)
            #expect(c.sim.stats().twoStepChallenges == 1)
            c.sim.setTwoStepVerification(false)
            try await fresh.authenticate()
            #expect(c.grants == ["password": 2, "refresh_token": 1])
        }
    }

    @Test func a420OfTheTokenEndpointIsNotRetriedAndNamesTheWait() async throws {
        try await withClient { c in
            c.sim.throttleTokenEndpoint(seconds: 300)
            let error = await podioError { try await c.client.organizations() }
            #expect(error?.kind == .rateLimited)
            #expect(error?.status == 420)
            #expect(error?.code == "rate_limit")
            #expect(error?.endpoint == "POST /oauth/token")
            #expect(error?.retryAfterSeconds.map { (299...300).contains($0) } == true, "\(String(describing: error))")
            #expect(c.sim.stats().tokenRequests == 1)
            #expect(c.sim.stats().rateLimitErrors == 1)
            #expect(await c.store.saves.isEmpty)
            #expect(c.gate.acquired.isEmpty)
        }
    }

    @Test func a420OnRefreshIsNotRetriedEither() async throws {
        try await withClient { c in
            _ = try await c.client.organizations()
            c.sim.throttleTokenEndpoint(seconds: 60)
            c.sim.injectFaults(.expireToken, count: 1)
            let error = await podioError { try await c.client.organizations() }
            #expect(error?.kind == .rateLimited)
            #expect(error?.retryAfterSeconds.map { (59...60).contains($0) } == true)
            // The grant, then one refresh answered 420: no password grant behind it.
            #expect(c.sim.stats().tokenRequests == 2)
            #expect(c.grants == ["password": 1])
        }
    }
}
