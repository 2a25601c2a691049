import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PodioSimulator
import TestSupport
import Testing

/// The token endpoint's inconvenient modes (reference §12): two-step verification, its own
/// throttle, slowness; switched by configuration, the control API and in Swift.
@Suite("Token endpoint modes")
struct TokenEndpointModeTests {
    func passwordGrant(_ sim: SimHarness) async throws -> Reply {
        try await sim.json(
            "/oauth/token/v2",
            [
                "grant_type": "password", "client_id": sim.config.clientID, "client_secret": sim.config.clientSecret,
                "username": sim.config.username, "password": sim.config.password,
            ])
    }

    @Test func twoStepVerificationAnswers200WithANonceAndNoToken() async throws {
        try await withSimulator({ $0.twoStepVerification = true }) { sim in
            for reply in [
                try await passwordGrant(sim),
                try await sim.form(
                    "/oauth/token",
                    [
                        ("grant_type", "password"), ("client_id", sim.config.clientID),
                        ("client_secret", sim.config.clientSecret), ("username", sim.config.username),
                        ("password", sim.config.password),
                    ]),
            ] {
                #expect(reply.status == 200)
                #expect(Set(reply.object.keys) == ["server_nonce"], "\(reply.text)")
                #expect((reply.object["server_nonce"] as? String)?.count == 32)
            }
            // A wrong password is still refused as such; app grants are not concerned.
            let wrong = try await sim.json(
                "/oauth/token/v2",
                [
                    "grant_type": "password", "client_id": sim.config.clientID,
                    "client_secret": sim.config.clientSecret,
                    "username": sim.config.username, "password": "not-it",
                ])
            #expect(wrong.status == 400 && wrong.errorCode == "invalid_grant")
            _ = try await sim.appToken(sim.projects)
            let stats = sim.simulator.stats()
            #expect(stats.twoStepChallenges == 2)
            #expect(stats.tokenRequests == 4)
            #expect(stats.tokenGrants == ["app": 1])
        }
    }

    @Test func twoStepVerificationIsSwitchedByTheControlAPIAndInSwift() async throws {
        try await withSimulator { sim in
            #expect(try await passwordGrant(sim).object["access_token"] != nil)
            let on = try await sim.json("/_sim/oauth", ["two_step_verification": true])
            #expect(on.status == 204)
            #expect(try await passwordGrant(sim).object["server_nonce"] != nil)
            sim.simulator.setTwoStepVerification(false)
            #expect(try await passwordGrant(sim).object["access_token"] != nil)
            let bad = try await sim.json("/_sim/oauth", ["two_step_verification": "yes"])
            #expect(bad.status == 400)
        }
    }

    @Test func throttledTokenEndpointAnswers420WithTheWaitLeft() async throws {
        try await withSimulator { sim in
            let throttle = try await sim.json("/_sim/oauth", ["throttle_seconds": 300])
            #expect(throttle.status == 204)
            let refused = try await passwordGrant(sim)
            #expect(refused.status == 420)
            #expect(refused.errorCode == "rate_limit")
            let description = try #require(refused.errorDescription)
            let wait = description.split(separator: " ").compactMap { Int($0) }.first
            #expect(wait.map { (299...300).contains($0) } == true, "\(description)")
            // Every grant type, form or JSON, and the API quota is untouched.
            let app = try await sim.form(
                "/oauth/token",
                [
                    ("grant_type", "app"), ("client_id", sim.config.clientID),
                    ("client_secret", sim.config.clientSecret),
                    ("app_id", String(sim.projects)), ("app_token", sim.simulator.appToken(appID: sim.projects) ?? ""),
                ])
            #expect(app.status == 420)
            #expect(sim.simulator.stats().tokenGrants.isEmpty)
            #expect(sim.simulator.stats().rateLimitErrors == 2)
            // Lifted: tokens again. A short throttle ends by itself.
            sim.simulator.throttleTokenEndpoint(seconds: 0)
            #expect(try await passwordGrant(sim).status == 200)
            sim.simulator.throttleTokenEndpoint(seconds: 1)
            #expect(try await passwordGrant(sim).status == 420)
            #expect(try await sim.json("/_sim/clock", ["advance_seconds": 1.1]).status == 204)  // as if 1.1 s passed
            #expect(try await passwordGrant(sim).status == 200)
            #expect(sim.simulator.stats().tokenRequests == 5)
        }
    }

    @Test func slowTokenEndpoint() async throws {
        try await withSimulator(slots: TestSlots.exclusive) { sim in  // measures real time: alone
            #expect(try await sim.json("/_sim/oauth", ["delay_ms": 400]).status == 204)
            let started = Date()
            #expect(try await passwordGrant(sim).status == 200)
            #expect(Date().timeIntervalSince(started) >= 0.4)
            sim.simulator.delayTokenEndpoint(milliseconds: 0)
            let again = Date()
            _ = try await sim.userToken()
            #expect(Date().timeIntervalSince(again) < 0.4)
        }
    }
}
