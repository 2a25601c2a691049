import Foundation
import PodioSimulator
import TestSupport
import Testing

/// Podio misbehaving: errors with HTML bodies, cut and truncated bodies, answers slower than
/// the request timeout, tokens that expire every few seconds, all under a small quota.
@Suite("Faults from Podio")
struct PodioFaultTests {
    static let apps = [
        PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 1_100, fields: .simple),
        PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 230),
    ]

    /// Runs `sync` until it succeeds (at most `runs` times); every stop must be a deferral or
    /// "unavailable, the next run tries again", each with one line.
    static func syncUntilDone(_ h: CLIHarness, runs: Int = 6, env: [String: String?] = [:]) async throws -> [RunOutcome]
    {
        var outcomes: [RunOutcome] = []
        for _ in 0..<runs {
            let outcome = try await h.run(["sync", "--log-level", "warning"], env: env, timeout: 300)
            outcomes.append(outcome)
            if outcome.status == 0 { break }
            #expect([75, 69].contains(outcome.status), "\(outcome.printed)")
            #expect(outcome.stderrLines.filter { $0.hasPrefix("podio-mirror:") }.count == 1, "\(outcome.printed)")
        }
        #expect(outcomes.last?.status == 0, "\(outcomes.map(\.printed))")
        return outcomes
    }

    @Test(.tags(.slow)) func everyFaultAtOnceUnderASmallQuota() async throws {
        var options = CLIHarness.Options()
        options.apps = Self.apps
        options.tokenTTL = 4
        // The simulator enforces 8 rate-limited calls per 5 s; the binary is told the same.
        options.simulatorLimits = (8, 100, 5)
        options.quota = (8, 100, 5)
        try await CLIHarness.with(options) { h in
            h.simulator.injectFaults(.serverError, rate: 0.15)
            h.simulator.injectFaults(.cutBody, rate: 0.04)
            h.simulator.injectFaults(.truncatedJSON, rate: 0.04)
            h.simulator.injectFaults(.delay(milliseconds: 2_500), rate: 0.04)
            h.simulator.injectFaults(.slowBody(milliseconds: 2_500), rate: 0.04)
            let env: [String: String?] = ["PODIO_REQUEST_TIMEOUT": "1s"]
            let started = Date()
            _ = try await Self.syncUntilDone(h, env: env)
            let stats = h.simulator.stats()
            #expect(stats.errorsServed > 0, "no fault was served: \(stats)")
            #expect(stats.rateLimitErrors == 0, "\(stats)")
            #expect((stats.maxCallsInWindow["rate_limited"] ?? 99) <= 8, "\(stats)")
            #expect((stats.maxCallsInWindow["general"] ?? 999) <= 100, "\(stats)")
            let differences = try await h.differences()
            #expect(differences == [])

            // Edits, creations and deletions, then a delta through the same faults.
            let app = h.simulator.appIDs()[0]
            let ids = try await h.itemIDs(app: app)
            for id in ids.prefix(30) { try h.simulator.editItem(itemID: id) }
            for id in ids.suffix(5) { try h.simulator.deleteItem(itemID: id) }
            for _ in 0..<4 { try h.simulator.createItem(appID: app) }
            _ = try await Self.syncUntilDone(h, env: env)
            let after = h.simulator.stats()
            #expect(after.rateLimitErrors == 0, "\(after)")
            #expect((after.maxCallsInWindow["rate_limited"] ?? 99) <= 8, "\(after)")
            let differences2 = try await h.differences()
            #expect(differences2 == [])
            // Tokens live 4 s: they are renewed as they expire, not before every call.
            let grants = after.tokenGrants.values.reduce(0, +)
            let calls = after.callsByTier.values.reduce(0, +)
            let seconds = Date().timeIntervalSince(started)
            #expect(grants <= Int(seconds / 2) + 6, "\(grants) token grants for \(calls) calls in \(Int(seconds)) s")
            try await h.expectNoSecretsLeaked()
        }
    }

    @Test(.tags(.slow)) func tokensExpiringEveryFewSecondsAreRenewedAsNeeded() async throws {
        var options = CLIHarness.Options()
        options.apps = [
            PodioSimulator.AppSpec(name: "Big", urlLabel: "big", itemCount: 3_000, fields: .simple),
            PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 600, fields: .simple),
        ]
        options.tokenTTL = 2
        try await CLIHarness.with(options) { h in
            // 12 calls of 150 ms over a few token lifetimes; two tokens also die early, one of
            // them right after it was renewed.
            h.simulator.injectFaults(.delay(milliseconds: 150), rate: 1)
            h.simulator.injectFaults(.expireToken, count: 2)
            let outcome = try await h.run(["sync", "--log-level", "trace"])
            #expect(outcome.status == 0, "\(outcome.printed)")
            let stats = h.simulator.stats()
            let calls = stats.callsByTier.values.reduce(0, +)
            let grants = stats.tokenGrants.values.reduce(0, +)
            #expect(grants >= 2, "\(stats)")
            #expect(grants < calls, "a token grant for every call: \(stats)")
            let differences = try await h.differences()
            #expect(differences == [])
            try await h.expectNoSecretsLeaked()
        }
    }

    @Test func retriesAreBoundedAndEndInOneLine() async throws {
        try await CLIHarness.with { h in
            h.simulator.injectFaults(.serverError, rate: 1)
            let started = Date()
            let outcome = try await h.run(["sync"])
            let seconds = Date().timeIntervalSince(started)
            #expect(outcome.status == 69, "\(outcome.printed)")
            #expect(outcome.stderrLines.count == 1, "\(outcome.printed)")
            #expect(outcome.stderr.contains("unavailable"), "\(outcome.printed)")
            #expect(!outcome.stderr.contains("<html"), "\(outcome.printed)")
            // The first call (GET /org/) tried 5 times, no more; backoff kept it short.
            let stats = h.simulator.stats()
            #expect(stats.callsByTier.values.reduce(0, +) == 5, "\(stats)")
            #expect(seconds < 30)
            #expect(try await h.count("SELECT count(*) FROM podio.items") == 0)
            try await h.expectNoSecretsLeaked()
        }
    }

    @Test(.tags(.slow), arguments: [PodioSimulator.Fault.invalidPage, .missingItems])
    func aStructurallyInvalidPageFailsTheRunAndWritesNothingOfIt(_ fault: PodioSimulator.Fault) async throws {
        var options = CLIHarness.Options()
        options.apps = [
            PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 2_200, fields: .simple)
        ]
        try await CLIHarness.with(options) { h in
            let app = h.simulator.appIDs()[0]
            h.simulator.injectFaults(.delay(milliseconds: 300), rate: 1)
            let process = try h.start(["sync"])
            let reached = try await h.waitUntil(timeout: 60, every: 2) {
                try await h.count("SELECT coalesce(max(full_pass_offset), 0) FROM podio.sync_state") >= 500
            }
            // Every later filter call answers the broken page (more than the retries); the
            // pages still to come leave room for a slow poll.
            h.simulator.injectFaults(fault, count: 50)
            try #require(reached && process.isRunning, "the sync ended before the fault was injected")
            let outcome = await h.finish(process)
            h.simulator.clearFaults()
            #expect(outcome.status != 0, "\(outcome.printed)")
            let lines = outcome.stderrLines
            #expect(lines.count == 1, "\(outcome.printed)")
            #expect(lines.first?.hasPrefix("podio-mirror: ") == true, "\(outcome.printed)")
            #expect(lines.first?.contains("filter") == true, "\(outcome.printed)")
            // Pages committed before stay, nothing of the broken one: whole pages only.
            let items = try await h.count("SELECT count(*) FROM podio.items WHERE app_id = $1", [app])
            let offset = try await h.count("SELECT full_pass_offset FROM podio.sync_state WHERE app_id = $1", [app])
            #expect(
                items == offset && items % 500 == 0 && items >= 500 && items < 2_200, "items \(items), offset \(offset)"
            )
            #expect(try await h.scalar("SELECT status FROM podio.sync_runs ORDER BY run_id DESC LIMIT 1") == "failed")
            // The app keeps its last error, and `status` names it, until a sync of it succeeds.
            let failing = try await h.run(["status"])
            #expect(failing.stdout.contains("app \(app): last error:"), "\(failing.printed)")
            #expect(failing.stdout.contains("filter"), "\(failing.printed)")
            try await h.sync()
            let differences = try await h.differences()
            #expect(differences == [])
            let healthy = try await h.run(["status"])
            #expect(!healthy.stdout.contains("last error"), "\(healthy.printed)")
            try await h.expectNoSecretsLeaked()
        }
    }
}
