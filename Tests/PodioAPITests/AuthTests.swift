import Foundation
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

@Suite("OAuth grants, refresh and rotation")
struct AuthTests {
    @Test func passwordGrantAuthenticatesOnceAndStoresThePair() async throws {
        try await withClient { c in
            let orgs = try await c.client.organizations()
            #expect(orgs.count == 1)
            #expect(orgs.first?.spaces?.count == 2)
            _ = try await c.client.itemCount(appID: c.projects)
            #expect(c.grants == ["password": 1])  // the token is reused, not re-granted per call
            #expect(c.client.identity == c.userIdentity)
            let saves = await c.store.saves
            #expect(saves.count == 1)
            #expect(saves.first?.identity == c.userIdentity)
            #expect(saves.first?.token.refType == "user")
            #expect(saves.first?.token.refreshToken?.isEmpty == false)
        }
    }

    @Test func appGrantSeesItsAppOnly() async throws {
        try await withClient(credentials: { sim, _ in
            .app(appID: sim.appIDs()[0], appToken: sim.appToken(appID: sim.appIDs()[0]) ?? "")
        }) { c in
            #expect(c.client.identity == "app:\(c.simConfig.clientID):\(c.projects)")
            #expect(try await c.client.itemCount(appID: c.projects) == c.simConfig.items)
            let app = try await c.client.app(c.projects)
            #expect(app.name == "Projects")
            #expect(c.grants == ["app": 1])
            let stored = await c.store.token(c.client.identity)
            #expect(stored?.refType == "app")
            #expect(stored?.refID == c.projects)
            // An app token sees nothing else: 403 is an auth error, and no new grant is tried.
            let error = await podioError { try await c.client.itemCount(appID: c.leads) }
            #expect(error?.kind == .auth)
            #expect(error?.status == 403)
            #expect(c.grants == ["app": 1])
        }
    }

    @Test func wrongAppTokenIsRefused() async throws {
        try await withClient(credentials: { sim, _ in .app(appID: sim.appIDs()[0], appToken: "not-the-app-token") }) {
            c in
            let error = await podioError { try await c.client.authenticate() }
            #expect(error?.kind == .credentialsRefused)
            #expect(error?.code == "invalid_grant")
            #expect(c.totalGrants == 0)
            #expect(c.sim.stats().errorsServed == 1)  // refused once, not retried
        }
    }

    @Test func expiredStoredTokenIsRefreshedTransparently() async throws {
        try await withClient(credentials: { _, _ in .stored }) { c in
            var pair = try await c.directPasswordGrant()
            pair.expiresAt = c.clock.now().timeIntervalSince1970 - 60  // expired as far as the client knows
            await c.store.put(pair, identity: c.loginIdentity)
            let orgs = try await c.client.organizations()
            #expect(orgs.count == 1)
            #expect(c.grants == ["password": 1, "refresh_token": 1])  // the client only refreshed
            let stored = try #require(await c.store.token(c.loginIdentity))
            #expect(stored.accessToken != pair.accessToken)
            #expect(stored.refreshToken != pair.refreshToken)
            #expect(stored.expiresAt > c.clock.now().timeIntervalSince1970 + 3600)
        }
    }

    @Test func authorizationCodeIsExchangedAndStored() async throws {
        try await withClient(credentials: { _, _ in .stored }) { c in
            let redirect = "http://127.0.0.1:9/callback?from=test"
            func authorize() async throws -> (code: String, state: String?) {
                let query = [
                    ("response_type", "code"), ("client_id", c.simConfig.clientID), ("redirect_uri", redirect),
                    ("state", "xyz 1/2"),
                ].map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
                let response = try await c.send("GET", "/oauth/authorize?" + query.joined(separator: "&"))
                try #require(response.status == 302)
                let location = try #require(response.header("Location"))
                #expect(location.hasPrefix("http://127.0.0.1:9/callback?from=test&code="))
                let items = try #require(URLComponents(string: location)?.queryItems)
                let code = try #require(items.first { $0.name == "code" }?.value)
                return (code, items.first { $0.name == "state" }?.value)
            }
            let (code, state) = try await authorize()
            #expect(state == "xyz 1/2")
            let token = try await c.client.exchange(code: code, redirectURI: redirect)
            #expect(token.refType == "user")
            #expect(await c.store.token(c.loginIdentity) == token)
            #expect(try await c.client.organizations().count == 1)
            #expect(c.grants == ["authorization_code": 1])  // the exchanged token is used as is

            // A code works once; a code for another redirect_uri does not work at all.
            let reused = await podioError { try await c.client.exchange(code: code, redirectURI: redirect) }
            #expect(reused?.kind == .credentialsRefused)
            #expect(reused?.code == "invalid_grant")
            let (other, _) = try await authorize()
            let mismatched = await podioError { try await c.client.exchange(code: other, redirectURI: redirect + "x") }
            #expect(mismatched?.kind == .credentialsRefused)
            #expect(c.grants == ["authorization_code": 1])
        }
    }

    @Test func storedCredentialsWithoutATokenAskForLogin() async throws {
        try await withClient(credentials: { _, _ in .stored }) { c in
            let error = await podioError { try await c.client.organizations() }
            #expect(error?.kind == .credentialsRefused)
            #expect(error?.description.contains("login") == true)
            #expect(c.totalGrants == 0)
            #expect(c.served("GET /org/") == 0)
        }
    }

    @Test func wrongClientSecretIsRefusedWithoutRetry() async throws {
        try await withClient(client: { $0.apiKey.clientSecret = "wrong-client-secret" }) { c in
            let error = await podioError { try await c.client.organizations() }
            #expect(error?.kind == .credentialsRefused)
            #expect(error?.status == 401)
            #expect(error?.code == "invalid_client")
            #expect(error?.endpoint == "POST /oauth/token")
            #expect(c.totalGrants == 0)
            #expect(c.sim.stats().errorsServed == 1)
            #expect(c.gate.acquired.isEmpty)  // no API call was attempted
        }
    }

    @Test func wrongPasswordIsRefusedWithoutRetry() async throws {
        try await withClient(credentials: { _, config in
            .password(username: config.username, password: "wrong-password")
        }) { c in
            let error = await podioError { try await c.client.authenticate() }
            #expect(error?.kind == .credentialsRefused)
            #expect(error?.status == 400)
            #expect(error?.code == "invalid_grant")
            #expect(c.totalGrants == 0)
            #expect(c.sim.stats().errorsServed == 1)
        }
    }

    @Test func expiredTokenMidSequenceIsRefreshedAndTheCallRetriedOnce() async throws {
        try await withClient { c in
            _ = try await c.client.itemCount(appID: c.projects)
            c.sim.injectFaults(.expireToken, count: 1)
            #expect(try await c.client.itemCount(appID: c.projects) == c.simConfig.items)
            #expect(c.grants == ["password": 1, "refresh_token": 1])
            #expect(c.served("GET /item/app/{app_id}/count") == 2)  // the 401 is not a served call
            #expect(c.sim.stats().errorsServed == 1)
            #expect(c.gate.completed.map(\.status) == [200, 401, 200])
            #expect(c.logs.all.contains { $0.contains("token rejected; refreshing") })
        }
    }

    @Test func shortTokenLifetimeIsRefreshedAlongASequence() async throws {
        // The client believes tokens live 30 s longer than the simulator's 1 s TTL, so every
        // expiry is discovered by a 401 in the middle of the sequence. Between rounds the
        // simulator's clock and the client's jump 1.1 s instead of sleeping; within a round
        // no time passes for either, however slow the machine.
        let clock = TestClock()
        try await withClient(sim: { $0.tokenTTL = 1 }, client: { $0.refreshMargin = -30 }, clock: clock) { c in
            var counts: [Int] = []
            for round in 0..<3 {
                if round > 0 {
                    clock.advance(1.1)
                    c.sim.advanceClock(seconds: 1.1)
                }
                counts.append(try await c.client.itemCount(appID: c.projects))
                counts.append(try await c.client.itemCount(appID: c.leads))
            }
            #expect(counts == [40, 25, 40, 25, 40, 25])
            // One 401 per expiry (the two after the jumps), each answered by one refresh.
            let refreshes = c.grants["refresh_token"] ?? 0
            #expect(refreshes == 2)
            #expect(c.sim.stats().errorsServed == refreshes)
            #expect(c.grants["password"] == 1)
            #expect(c.served("GET /item/app/{app_id}/count") == 6)
        }
    }

    @Test func refreshAheadOfExpiryUsesTheMargin() async throws {
        // The margin is capped at half the lifetime: a 3 s token is used for 1.5 s, then
        // refreshed before the call that needs it. The client's clock and the simulator's jump
        // 1.6 s instead of sleeping.
        let clock = TestClock()
        try await withClient(sim: { $0.tokenTTL = 3 }, client: { $0.refreshMargin = 10 }, clock: clock) { c in
            _ = try await c.client.itemCount(appID: c.projects)
            _ = try await c.client.itemCount(appID: c.projects)
            #expect(c.grants == ["password": 1])
            clock.advance(1.6)
            c.sim.advanceClock(seconds: 1.6)
            _ = try await c.client.itemCount(appID: c.projects)
            #expect(c.grants == ["password": 1, "refresh_token": 1])
            #expect(c.sim.stats().errorsServed == 0)  // refreshed before expiry: no 401 at all
        }
    }

    @Test func rotatedRefreshTokensAreHandedToTheStore() async throws {
        try await withClient { c in
            _ = try await c.client.organizations()
            let first = try #require(await c.store.token(c.userIdentity))
            c.sim.injectFaults(.expireToken, count: 1)
            _ = try await c.client.organizations()
            let saves = await c.store.saves
            #expect(saves.count == 2)
            let second = try #require(await c.store.token(c.userIdentity))
            #expect(second == saves.last?.token)
            #expect(second.accessToken != first.accessToken)
            let oldRefresh = try #require(first.refreshToken)
            let newRefresh = try #require(second.refreshToken)
            #expect(newRefresh != oldRefresh)
            // The simulator rotates: the old refresh token is refused from now on.
            let refused = try await c.directRefresh(oldRefresh)
            #expect(refused.status == 400)
            #expect(refused.error == "invalid_grant")
            // The stored one is the live one.
            #expect(try await c.directRefresh(newRefresh).status == 200)
        }
    }

    @Test func storedTokenIsLoadedInsteadOfGranting() async throws {
        try await withClient { c in
            let pair = try await c.directPasswordGrant()
            await c.store.put(pair, identity: c.userIdentity)
            _ = try await c.client.organizations()
            _ = try await c.client.organizations()
            #expect(c.grants == ["password": 1])  // only the direct grant
            #expect(await c.store.loads == 1)
        }
    }

    @Test func a401ThatPersistsAfterRefreshesSurfacesWithoutALoop() async throws {
        try await withClient { c in
            _ = try await c.client.organizations()
            // A fresh token may expire at once too (short-lived tokens), so a call refreshes up to
            // `tokenRefreshesPerCall` times; a 401 after that is the answer.
            c.sim.injectFaults(.expireToken, count: 3)
            let error = await podioError { try await c.client.organizations() }
            #expect(error?.kind == .auth)
            #expect(error?.status == 401)
            #expect(error?.endpoint == "GET /org/")
            #expect(c.grants == ["password": 1, "refresh_token": 2])  // exactly two refreshes
            #expect(c.gate.completed.map(\.status) == [200, 401, 401, 401])
            #expect(c.served("GET /org/") == 1)
        }
    }

    @Test func refusedRefreshFallsBackToThePasswordGrant() async throws {
        try await withClient { c in
            _ = try await c.client.organizations()
            // Someone else redeems the refresh token: the client's copy is now refused.
            let stolen = try #require(await c.store.token(c.userIdentity)?.refreshToken)
            #expect(try await c.directRefresh(stolen).status == 200)
            c.sim.injectFaults(.expireToken, count: 1)
            #expect(try await c.client.organizations().count == 1)
            #expect(c.grants == ["password": 2, "refresh_token": 1])
        }
    }

    @Test func refusedRefreshOfStoredLoginAsksForLoginAgain() async throws {
        try await withClient(credentials: { _, _ in .stored }) { c in
            let pair = try await c.directPasswordGrant()
            await c.store.put(pair, identity: c.loginIdentity)
            _ = try await c.client.organizations()
            #expect(try await c.directRefresh(try #require(pair.refreshToken)).status == 200)
            c.sim.injectFaults(.expireToken, count: 1)
            let error = await podioError { try await c.client.organizations() }
            #expect(error?.kind == .credentialsRefused)
            #expect(error?.description.contains("login") == true)
            #expect(c.grants == ["password": 1, "refresh_token": 1])
        }
    }

    @Test func concurrentCallsShareOneRefresh() async throws {
        try await withClient { c in
            _ = try await c.client.organizations()
            let client = c.client
            let projects = c.projects
            for round in 1...3 {
                let token = try #require(await c.store.token(c.userIdentity))
                // The next call expires the token on the server: every call presenting it gets 401.
                c.sim.injectFaults(.expireToken, count: 1)
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<12 { group.addTask { try await client.itemCount(appID: projects) } }
                    for try await count in group { #expect(count == 40) }
                }
                #expect(c.grants == ["password": 1, "refresh_token": round])  // one refresh for all of them
                #expect(await c.store.token(c.userIdentity)?.accessToken != token.accessToken)
            }
        }
    }
}

@Suite("Refresh margin")
struct RefreshMarginTests {
    @Test func shortLivedTokensAreNotRefreshedOnEveryCall() async throws {
        // Podio decides `expires_in`; a margin longer than the lifetime must not turn every
        // call into a refresh (the token endpoint has its own throttle).
        try await withClient(sim: { $0.tokenTTL = 120 }, client: { $0.refreshMargin = 300 }) { c in
            for _ in 0..<5 { _ = try await c.client.itemCount(appID: c.projects) }
            #expect(c.grants == ["password": 1])
        }
    }
}
