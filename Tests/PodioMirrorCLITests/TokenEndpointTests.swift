import Foundation
import LibPQ
import PodioSimulator
import TestSupport
import Testing

/// Podio's token endpoint as it may really behave (reference §12), through the real binary:
/// two-step verification, its own throttle, and processes that must not log in at once or
/// too often.
@Suite("Token endpoint")
struct TokenEndpointCLITests {
    static func options() -> CLIHarness.Options {
        var options = CLIHarness.Options()
        options.apps = [
            PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 30, fields: .simple),
            PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 20, fields: .simple),
        ]
        return options
    }

    func expectOneLine(_ outcome: RunOutcome, says words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(outcome.stdout.isEmpty, "\(outcome.printed)", sourceLocation: sourceLocation)
        #expect(outcome.stderrLines.count == 1, "\(outcome.printed)", sourceLocation: sourceLocation)
        let line = outcome.stderrLines.first ?? ""
        #expect(line.hasPrefix("podio-mirror: "), "\(line)", sourceLocation: sourceLocation)
        for word in words {
            #expect(line.contains(word), "«\(line)» does not say \(word)", sourceLocation: sourceLocation)
        }
    }

    @Test func twoStepVerificationExits77AtOnceAndPointsAtAppAuthOrLogin() async throws {
        try await CLIHarness.with(Self.options()) { h in
            h.simulator.setTwoStepVerification(true)
            for arguments in [["sync"], ["apps"], ["sync", "--app", String(h.simulator.appIDs()[0])]] {
                let started = Date()
                let outcome = try await h.run(arguments)
                #expect(outcome.status == 77, "\(outcome.printed)")
                expectOneLine(outcome, says: ["two-step verification", "PODIO_APP_AUTH", "podio-mirror login"])
                #expect(Date().timeIntervalSince(started) < 20)  // no backoff
            }
            let stats = h.simulator.stats()
            #expect(stats.twoStepChallenges == 3)
            #expect(stats.tokenRequests == 3)  // one per run: never retried
            #expect(stats.tokenGrants.isEmpty)
            #expect(try await h.count("SELECT count(*) FROM podio_auth.oauth_tokens") == 0)
            #expect(try await h.count("SELECT count(*) FROM podio.items") == 0)
            let error = try await h.scalar(
                "SELECT error FROM podio.sync_runs WHERE status = 'failed' ORDER BY run_id DESC LIMIT 1")
            #expect(error?.contains("two-step verification") == true, "\(String(describing: error))")

            // What the line advises works: app authentication.
            let app = h.simulator.appIDs()[0]
            let token = try #require(h.simulator.appToken(appID: app))
            let appAuth = try await h.run(
                ["sync"], env: ["PODIO_USERNAME": nil, "PODIO_PASSWORD": nil, "PODIO_APP_AUTH": "\(app):\(token)"])
            #expect(appAuth.status == 0, "\(appAuth.printed)")
            #expect(try await h.differences(apps: [app]) == [])
            try await h.expectNoSecretsLeaked()
        }
    }

    @Test func a420OfTheTokenEndpointPausesTheIdentityAndDefers() async throws {
        try await CLIHarness.with(Self.options()) { h in
            h.simulator.throttleTokenEndpoint(seconds: 4)
            // --summary: a deferral says why (without it, cron's runs defer quietly).
            let first = try await h.run(["sync", "--summary"])
            #expect(first.status == 75, "\(first.printed)")
            expectOneLine(first, says: ["deferred", "420", "Please wait", "next run"])
            #expect(h.simulator.stats().tokenRequests == 1)  // not retried
            #expect(h.simulator.stats().rateLimitErrors == 1)
            // The identity is paused in the ledger (both tiers) for the wait Podio named.
            let identity = "user:\(h.configuration.clientID):\(h.configuration.username)"
            let paused = try await h.rows(
                """
                SELECT tier, extract(epoch FROM paused_until - now())::float8 AS left, pause_reason
                FROM podio.quota_state WHERE credential = $1 ORDER BY tier
                """, [identity])
            #expect(paused.compactMap { $0.string("tier") } == ["general", "rate_limited"], "\(paused)")
            for row in paused {
                let left = row.double("left") ?? -1
                #expect(left > 1 && left <= 4.5, "\(left)")
                #expect(row.string("pause_reason")?.contains("token endpoint answered 420") == true)
            }
            let run = try await h.rows(
                "SELECT status, deferred_until, error FROM podio.sync_runs ORDER BY run_id DESC LIMIT 1")
            #expect(run.first?.string("status") == "deferred")
            #expect(run.first?.date("deferred_until") != nil)

            // Another run before the wait is over asks Podio nothing.
            let second = try await h.run(["sync", "--summary", "--app", String(h.simulator.appIDs()[1])])
            #expect(second.status == 75, "\(second.printed)")
            expectOneLine(second, says: ["deferred", "420", "no token"])
            #expect(h.simulator.stats().tokenRequests == 1)
            let status = try await h.run(["status"])
            #expect(status.stdout.contains("paused"), "\(status.printed)")

            // Once it is over, the next run logs in once and syncs. As if 4.6 s had passed (no
            // sleep): the simulator's clock jumps, and the pauses the binary recorded move back.
            h.simulator.advanceClock(seconds: 4.6)
            _ = try await h.db.run {
                try $0.execute(
                    """
                    UPDATE podio_auth.token_requests SET paused_until = paused_until - interval '4.6 seconds';
                    UPDATE podio.quota_state SET paused_until = paused_until - interval '4.6 seconds'
                    """)
            }
            try await h.sync()
            #expect(h.simulator.stats().tokenGrants == ["password": 1])
            #expect(try await h.differences() == [])
            try await h.expectNoSecretsLeaked()
        }
    }

    @Test func processesStartingTogetherShareOneGrant() async throws {
        try await CLIHarness.with(Self.options()) { h in
            // A slow token endpoint: both processes find no stored token while the first asks.
            h.simulator.delayTokenEndpoint(milliseconds: 1_500)
            let apps = h.simulator.appIDs()
            let a = try h.start(["sync", "--app", String(apps[0])])
            let b = try h.start(["sync", "--app", String(apps[1])])
            let outcomes = [await h.finish(a), await h.finish(b)]
            for outcome in outcomes { #expect(outcome.status == 0, "\(outcome.printed)") }
            let stats = h.simulator.stats()
            #expect(stats.tokenGrants == ["password": 1], "\(stats)")
            #expect(stats.tokenRequests == 1)
            // Later runs reuse the stored token too.
            h.simulator.delayTokenEndpoint(milliseconds: 0)
            try await h.sync()
            #expect(h.simulator.stats().tokenRequests == 1)
            #expect(try await h.differences() == [])
            try await h.expectNoSecretsLeaked()
        }
    }

    @Test func grantsAreSpacedPerIdentityAcrossProcesses() async throws {
        try await CLIHarness.with(Self.options()) { h in
            try await h.sync()
            #expect(h.simulator.stats().tokenGrants == ["password": 1])
            // The stored token is gone (revoked, say) minutes before another grant is allowed.
            _ = try await h.db.run { try $0.query("DELETE FROM podio_auth.oauth_tokens") }
            let outcome = try await h.run(["sync", "--summary"])
            #expect(outcome.status == 75, "\(outcome.printed)")
            expectOneLine(
                outcome, says: ["deferred", "at most one grant per identity every 5m", "check the credentials"])
            #expect(h.simulator.stats().tokenRequests == 1)  // Podio was not asked
            // Another identity is not held back by it.
            let app = h.simulator.appIDs()[0]
            let token = try #require(h.simulator.appToken(appID: app))
            let appAuth = try await h.run(
                ["sync"], env: ["PODIO_USERNAME": nil, "PODIO_PASSWORD": nil, "PODIO_APP_AUTH": "\(app):\(token)"])
            #expect(appAuth.status == 0, "\(appAuth.printed)")
            #expect(h.simulator.stats().tokenGrants == ["password": 1, "app": 1])
            // Five minutes later (the record moved back), the user grants again.
            _ = try await h.db.run {
                try $0.query("UPDATE podio_auth.token_requests SET granted_at = granted_at - interval '301 seconds'")
            }
            try await h.sync()
            #expect(h.simulator.stats().tokenGrants == ["password": 2, "app": 1])
            try await h.expectNoSecretsLeaked()
        }
    }
}
