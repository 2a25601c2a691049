import Foundation
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

@Suite("Syncing under a small quota (simulator enforcing 4 calls per 3 seconds)")
struct QuotaSyncTests {
    /// 4 rate-limited calls per 3-second window, the same rule in the simulator and the ledger.
    static let window = 3.0
    static let quota = QuotaPolicy(rateLimited: 4, general: 100, window: window, reserve: 0)

    @Test(.tags(.slow)) func aSyncOfTwelveCallsCompletesAcrossWindowsWithoutA420() async throws {
        // GET /app/space/{id}/ for the two spaces + 11 filter pages of 500 = 13 rate-limited
        // calls, 4 per 8-second window.
        let window = 8.0
        try await EngineHarness.with(
            apps: [PodioSimulator.AppSpec(name: "Big", urlLabel: "big", itemCount: 5_300, fields: .simple)],
            quota: QuotaPolicy(rateLimited: 4, general: 100, window: window, reserve: 0),
            simulatorLimits: (4, 100, window)
        ) { h in
            let summary = try await h.coordinator().run(SyncOptions(kind: .sync, maxWait: 60))
            #expect(summary.status == .succeeded)
            #expect(summary.callsRateLimited == 13)
            let stats = h.simulator.stats()
            #expect(stats.rateLimitErrors == 0)
            #expect((stats.maxCallsInWindow["rate_limited"] ?? 99) <= 4)
            // The 9th call cannot come before two windows have passed (the ledger waits for it
            // when pages are fast; on a loaded machine the pages alone may take that long).
            #expect(summary.seconds >= 2 * window - 0.5)
            let differences = try await h.differences()
            #expect(differences == [])
        }
    }

    @Test func fewerCallsThanTheQuotaNeverWait() async throws {
        try await EngineHarness.with(
            apps: [PodioSimulator.AppSpec(name: "Small", urlLabel: "small", itemCount: 900, fields: .simple)],
            quota: Self.quota, simulatorLimits: (4, 100, Self.window)
        ) { h in
            // GET /app/space/{id}/ twice + 2 pages = 4 calls under a quota of 4: no pacing at all
            // (a fixed spacing between calls, as some connectors do, would wait here).
            let summary = try await h.coordinator().run(SyncOptions(kind: .sync, maxWait: 60))
            #expect(summary.callsRateLimited == 4)
            #expect(summary.secondsWaitedForQuota == 0)
        }
    }

    @Test(.tags(.slow)) func aRunThatCannotFinishInTimeDefersAndTheNextResumes() async throws {
        // A 4-per-hour rule on a clock that jumps: each run may not wait at all (max-wait 0).
        try await EngineHarness.with(
            apps: [PodioSimulator.AppSpec(name: "Big", urlLabel: "big", itemCount: 3_000, fields: .simple)],
            quota: QuotaPolicy(rateLimited: 4, general: 100, window: 3600, reserve: 0)
        ) { h in
            let clock = TestClock(Date())
            let app = [h.simulator.appIDs()[0]]  // named, so that the runs spend their quota on pages alone
            await #expect(throws: MirrorError.self) {
                _ = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync, apps: app, maxWait: 0))
            }
            #expect(try await h.scalar("SELECT status FROM podio.sync_runs ORDER BY run_id DESC LIMIT 1") == "deferred")
            #expect(
                try await h.scalar(
                    "SELECT (deferred_until IS NOT NULL)::text FROM podio.sync_runs ORDER BY run_id DESC LIMIT 1")
                    == "true")
            // 4 pages fit in the first window.
            #expect(try await h.count("SELECT full_pass_offset FROM podio.sync_state") == 2_000)
            // An hour later the next run continues from the checkpoint and finishes.
            clock.advance(3601)
            try await h.waitForEarlierRunsToLetGo()
            let second = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync, apps: app, maxWait: 0))
            #expect(second.status == .succeeded)
            let differences = try await h.differences()
            #expect(differences == [])
            // Nothing was read twice: 6 pages in all.
            #expect(h.simulator.stats().callsByEndpoint["POST /item/app/{app_id}/filter/"] == 6)
        }
    }

    @Test func anInjected420PausesAndRecoversWithoutASecondOne() async throws {
        try await EngineHarness.with(
            apps: [PodioSimulator.AppSpec(name: "Small", urlLabel: "small", itemCount: 1_200, fields: .simple)],
            quota: Self.quota, simulatorLimits: (4, 100, Self.window)
        ) { h in
            h.simulator.injectFaults(.rateLimit, count: 1)
            let summary = try await h.coordinator().run(SyncOptions(kind: .sync, maxWait: 60))
            #expect(summary.status == .succeeded)
            #expect(summary.rateLimitErrors == 1)
            #expect(h.simulator.stats().rateLimitErrors == 1)
            let differences = try await h.differences()
            #expect(differences == [])
        }
    }

    @Test(.tags(.slow)) func twoProcessesOnDisjointAppsShareTheQuota() async throws {
        try await EngineHarness.with(
            apps: [
                PodioSimulator.AppSpec(name: "One", urlLabel: "one", itemCount: 2_400, fields: .simple),
                PodioSimulator.AppSpec(name: "Two", urlLabel: "two", itemCount: 2_400, fields: .simple),
            ],
            quota: Self.quota, simulatorLimits: (4, 100, Self.window), slots: TestSlots.scenario
        ) { h in
            var env = h.environment
            env["PODIO_RATE_RESERVE"] = "0"
            let apps = h.simulator.appIDs()
            let binary = ProcessRunner.binary("podio-mirror")
            async let one = ProcessRunner.run(
                binary, ["sync", "--app", String(apps[0]), "--max-wait", "60s"], environment: env)
            async let two = ProcessRunner.run(
                binary, ["sync", "--app", String(apps[1]), "--max-wait", "60s"], environment: env)
            let (a, b) = try await (one, two)
            #expect(a.status == 0, "\(a.stderr)")
            #expect(b.status == 0, "\(b.stderr)")
            let stats = h.simulator.stats()
            #expect(stats.rateLimitErrors == 0)
            #expect((stats.maxCallsInWindow["rate_limited"] ?? 99) <= 4)
            let differences = try await h.differences()
            #expect(differences == [])
        }
    }
}
