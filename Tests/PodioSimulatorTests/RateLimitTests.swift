import Foundation
import PodioSimulator
import Testing

@Suite("Rate limits")
struct RateLimitTests {
    @Test func bothTiersCarryHeadersAndRefuseWith420PastTheQuota() async throws {
        try await withSimulator({ config in
            // A window long enough that no call leaves it during the test, even on a busy machine.
            config.rateLimit = 4
            config.rateLimitGeneral = 6
            config.rateWindow = 60
        }) { sim in
            let token = try await sim.userToken()
            let app = sim.projects
            for expected in [3, 2, 1, 0] {
                let reply = try await sim.get("/item/app/\(app)/count", token: token)
                #expect(reply.status == 200)
                #expect(reply.header("X-Rate-Limit-Limit") == "4")
                #expect(reply.header("X-Rate-Limit-Remaining") == String(expected))
            }
            let refused = try await sim.filter(app, ["limit": 1], token: token)
            #expect(refused.status == 420)
            #expect(refused.errorCode == "rate_limit")
            #expect(refused.header("X-Rate-Limit-Limit") == "4")
            #expect(refused.header("X-Rate-Limit-Remaining") == "0")
            let description = try #require(refused.errorDescription)
            #expect(description.hasPrefix("You have hit the rate limit. Please wait "))
            #expect(description.hasSuffix(" seconds before trying again"))
            let seconds = Int(description.split(separator: " ").first(where: { Int($0) != nil }) ?? "") ?? -1
            #expect((30...60).contains(seconds))  // the window less the time the calls took
            // App listings are in the rate-limited tier too.
            #expect(try await sim.get("/app/", token: token).status == 420)

            // The general tier has its own budget.
            let general = try await sim.get("/app/\(app)", token: token)
            #expect(general.status == 200)
            #expect(general.header("X-Rate-Limit-Limit") == "6")
            #expect(general.header("X-Rate-Limit-Remaining") == "5")

            let stats = sim.simulator.stats()
            #expect(stats.callsByTier["rate_limited"] == 4)
            #expect(stats.callsByTier["general"] == 1)
            #expect(stats.rateLimitErrors == 2)
            #expect(stats.maxCallsInWindow["rate_limited"] == 4)
            #expect(stats.callsByEndpoint["GET /item/app/{app_id}/count"] == 4)
        }
    }

    @Test func rollingWindowServesAgainOnceTheOldestCallLeaves() async throws {
        try await withSimulator({ config in
            config.rateLimit = 2
            config.rateWindow = 2
        }) { sim in
            let token = try await sim.userToken()
            let path = "/item/app/\(sim.projects)/count"
            // Calls until one is refused (timing-independent: at most a few rounds on a slow machine).
            var refused: Reply?
            for _ in 0..<20 {
                let reply = try await sim.get(path, token: token)
                if reply.status == 420 { refused = reply; break }
                #expect(reply.status == 200)
            }
            let reply = try #require(refused)
            let description = try #require(reply.errorDescription)
            let seconds = try #require(description.split(separator: " ").compactMap { Int($0) }.first)
            #expect((1...2).contains(seconds))
            sim.simulator.advanceClock(seconds: Double(seconds) + 0.1)  // as if the wait had passed
            let again = try await sim.get(path, token: token)
            #expect(again.status == 200)
            #expect(again.header("X-Rate-Limit-Limit") == "2")
        }
    }

    @Test func identitiesHaveSeparateBudgets() async throws {
        try await withSimulator({ config in
            config.rateLimit = 2
            config.rateWindow = 60
        }) { sim in
            let user = try await sim.userToken()
            let app = try await sim.appToken(sim.projects)
            for _ in 0..<2 { #expect(try await sim.get("/item/app/\(sim.projects)/count", token: user).status == 200) }
            #expect(try await sim.get("/item/app/\(sim.projects)/count", token: user).status == 420)
            #expect(try await sim.get("/item/app/\(sim.projects)/count", token: app).status == 200)
            // A second user token of the same user and key shares the user's budget.
            let user2 = try await sim.userToken()
            #expect(try await sim.get("/item/app/\(sim.projects)/count", token: user2).status == 420)
        }
    }

    @Test func zeroMeansUnlimited() async throws {
        try await withSimulator({ config in
            config.rateLimit = 0
            config.rateLimitGeneral = 0
        }) { sim in
            let token = try await sim.userToken()
            for _ in 0..<30 {
                let reply = try await sim.get("/item/app/\(sim.projects)/count", token: token)
                #expect(reply.status == 200)
            }
            #expect(sim.simulator.stats().rateLimitErrors == 0)
        }
    }

    @Test func statsOverHTTPAndReset() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            _ = try await sim.get("/org/", token: token)
            _ = try await sim.get("/nothing", token: token)
            let reply = try await sim.send(.GET, "/_sim/stats")
            let stats = try JSONDecoder().decode(PodioSimulator.Stats.self, from: Data(reply.body))
            #expect(stats.callsByTier["general"] == 1)
            #expect(stats.callsByEndpoint["GET /org/"] == 1)
            #expect(stats.errorsServed == 1)
            #expect(stats.tokenGrants["password"] == 1)
            #expect(try await sim.send(.POST, "/_sim/stats/reset").status == 204)
            #expect(sim.simulator.stats().callsByTier["general"] == 0)
        }
    }

    @Test func quirksMoveAnOperationToTheOtherTierOverHTTP() async throws {
        try await withSimulator({ config in
            config.rateLimit = 3
            config.rateLimitGeneral = 7
            config.rateWindow = 600
            config.manualClock = true
        }) { sim in
            let token = try await sim.userToken()
            let quirks: [String: Any] = [
                "tiers": ["GET /org/": "rate_limited", "GET /app/space/{space_id}/": "general"]
            ]
            #expect(try await sim.json("/_sim/quirks", quirks).status == 204)
            let orgs = try await sim.get("/org/", token: token)
            #expect(orgs.status == 200)
            #expect(orgs.header("X-Rate-Limit-Limit") == "3")
            #expect(orgs.header("X-Rate-Limit-Remaining") == "2")
            let space = try #require(try await sim.send(.GET, "/_sim/apps").array.first?["space_id"] as? Int)
            let spaces = try await sim.get("/app/space/\(space)/", token: token)
            #expect(spaces.status == 200)
            #expect(spaces.header("X-Rate-Limit-Limit") == "7")
            #expect(spaces.header("X-Rate-Limit-Remaining") == "6")
            let stats = sim.simulator.stats()
            #expect(stats.callsByTier["rate_limited"] == 1 && stats.callsByTier["general"] == 1)
            // Only the two tiers exist.
            let wrong = try await sim.json("/_sim/quirks", ["tiers": ["GET /org/": "heavy"]])
            #expect(wrong.status == 400)
            // `{}` turns the quirks off: GET /org/ is general again.
            #expect(try await sim.json("/_sim/quirks", [String: Any]()).status == 204)
            #expect(try await sim.get("/org/", token: token).header("X-Rate-Limit-Limit") == "7")
        }
    }

    @Test func pastOneLimitEveryCallAnswers420WhenTheQuirkSaysSo() async throws {
        try await withSimulator({ config in
            config.rateLimit = 2
            config.rateLimitGeneral = 50
            config.rateWindow = 60
            config.manualClock = true
        }) { sim in
            sim.simulator.setQuirks(PodioSimulator.Quirks(limitStopsEveryCall: true))
            let token = try await sim.userToken()
            let count = "/item/app/\(sim.projects)/count"
            // Filling a tier to its limit stops nothing: only a call past it does.
            for _ in 0..<2 { #expect(try await sim.get(count, token: token).status == 200) }
            #expect(try await sim.get("/org/", token: token).status == 200)
            #expect(try await sim.get(count, token: token).status == 420)
            // Now the general tier, with 49 calls left, answers 420 too, naming the same wait.
            let general = try await sim.get("/org/", token: token)
            #expect(general.status == 420)
            #expect(
                general.errorDescription == "You have hit the rate limit. Please wait 60 seconds before trying again")
            // Another identity is not stopped.
            let app = try await sim.appToken(sim.projects)
            #expect(try await sim.get("/app/\(sim.projects)", token: app).status == 200)
            // Once the refused tier has room again, every call is served.
            sim.simulator.advanceClock(seconds: 60)
            #expect(try await sim.get("/org/", token: token).status == 200)
            #expect(try await sim.get(count, token: token).status == 200)
            #expect(sim.simulator.stats().rateLimitErrors == 2)
        }
    }
}
