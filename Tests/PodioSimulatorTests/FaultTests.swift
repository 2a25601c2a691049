import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PodioSimulator
import Testing

@Suite("Injected faults")
struct FaultTests {
    @Test func serverErrorServesAnHTMLPage() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            sim.simulator.injectFaults(.serverError, count: 2)
            for _ in 0..<2 {
                let reply = try await sim.get("/org/", token: token)
                #expect([500, 502, 503].contains(reply.status))
                #expect(reply.header("Content-Type") == "text/html")
                #expect(reply.text.contains("<html>"))
            }
            #expect(try await sim.get("/org/", token: token).status == 200)
            #expect(sim.simulator.stats().callsByTier["general"] == 3)  // faulted calls count as served
            #expect(sim.simulator.stats().errorsServed == 2)
        }
    }

    @Test func delayThenNormalAnswer() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            sim.simulator.injectFaults(.delay(milliseconds: 300))
            let started = ContinuousClock.now
            let reply = try await sim.get("/org/", token: token)
            #expect(reply.status == 200)
            #expect(ContinuousClock.now - started >= .milliseconds(300))
        }
    }

    @Test func cutBodyClosesTheConnection() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            sim.simulator.injectFaults(.cutBody)
            await #expect(throws: (any Error).self) {
                _ = try await sim.filter(sim.projects, ["limit": 50], token: token)
            }
            #expect(try await sim.filter(sim.projects, ["limit": 50], token: token).status == 200)
        }
    }

    @Test func slowBodyTricklesTheWholeAnswerOut() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let normal = try await sim.get("/app/\(sim.projects)", token: token)
            #expect(
                try await sim.json("/_sim/faults", ["kind": "slow_body", "delay_ms": 400, "count": 1]).status == 204)
            let started = ContinuousClock.now
            let reply = try await sim.get("/app/\(sim.projects)", token: token)
            #expect(ContinuousClock.now - started >= .milliseconds(380))
            #expect(reply.status == 200)
            #expect(reply.body == normal.body)  // late, but whole
        }
    }

    @Test func truncatedJSONIsAComplete200WithAPrefix() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let normal = try await sim.get("/app/\(sim.projects)", token: token)
            sim.simulator.injectFaults(.truncatedJSON)
            let reply = try await sim.get("/app/\(sim.projects)", token: token)
            #expect(reply.status == 200)
            #expect(reply.body.count < normal.body.count)
            #expect(Array(normal.body.prefix(reply.body.count)) == reply.body)
            #expect((try? JSONSerialization.jsonObject(with: Data(reply.body))) == nil)
        }
    }

    @Test func expireTokenBehavesLikeARealExpiry() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            sim.simulator.injectFaults(.expireToken)
            let reply = try await sim.get("/org/", token: token)
            #expect(reply.status == 401)
            #expect(reply.errorDescription == "expired_token")
            #expect(try await sim.get("/org/", token: token).status == 401)  // the token stays expired
            #expect(try await sim.get("/org/", token: try await sim.userToken()).status == 200)
        }
    }

    @Test func rateLimitFaultServesPodios420() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            sim.simulator.injectFaults(.rateLimit)
            let reply = try await sim.get("/item/app/\(sim.projects)/count", token: token)
            #expect(reply.status == 420)
            #expect(reply.errorCode == "rate_limit")
            #expect(reply.errorDescription?.contains("Please wait") == true)
            #expect(sim.simulator.stats().rateLimitErrors == 1)
            #expect(sim.simulator.stats().callsByTier["rate_limited"] == 0)
        }
    }

    @Test func filterOnlyFaultsWaitForAFilterCall() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            sim.simulator.injectFaults(.invalidPage)
            #expect(try await sim.get("/org/", token: token).status == 200)  // not a filter: untouched
            let invalid = try await sim.filter(sim.projects, ["limit": 5], token: token)
            #expect(invalid.status == 200)
            #expect((try? JSONSerialization.jsonObject(with: Data(invalid.body))) == nil)

            sim.simulator.injectFaults(.missingItems)
            let missing = try await sim.filter(sim.projects, ["limit": 5], token: token)
            #expect(missing.status == 200)
            #expect(missing.object["total"] as? Int == 120)
            #expect(missing.object["filtered"] as? Int == 120)
            #expect(missing.object["items"] == nil)
        }
    }

    @Test func faultsThroughTheControlAPIAndRates() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            #expect(try await sim.json("/_sim/faults", ["kind": "server_error", "rate": 0.5]).status == 204)
            var failures = 0
            for _ in 0..<40 where try await sim.get("/org/", token: token).status >= 500 {
                failures += 1
            }
            #expect((5...35).contains(failures))
            #expect(try await sim.send(.DELETE, "/_sim/faults").status == 204)
            #expect(try await sim.get("/org/", token: token).status == 200)
            #expect(try await sim.json("/_sim/faults", ["kind": "delay", "delay_ms": 50, "count": 1]).status == 204)
            #expect(try await sim.get("/org/", token: token).status == 200)
            #expect(try await sim.json("/_sim/faults", ["kind": "nonsense"]).status == 400)
            // Control and OAuth calls never take faults.
            sim.simulator.injectFaults(.serverError, count: 5)
            #expect(try await sim.send(.GET, "/_sim/apps").status == 200)
            _ = try await sim.userToken()
            sim.simulator.clearFaults()
        }
    }
}
