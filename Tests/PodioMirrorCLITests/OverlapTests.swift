import Foundation
import PodioSimulator
import TestSupport
import Testing

/// Cron starting runs that overlap.
@Suite("Overlapping runs")
struct OverlapTests {
    @Test(.tags(.slow)) func fiveSyncsStartedTogetherOneSyncsTheRestDeferAtOnce() async throws {
        var options = CLIHarness.Options()
        options.apps = [
            PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 1_200, fields: .simple),
            PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 60),
        ]
        options.simulatorLimits = (12, 100, 10)
        options.quota = (12, 100, 10)
        try await CLIHarness.with(options) { h in
            // Slow answers keep the winner busy for seconds.
            h.simulator.injectFaults(.delay(milliseconds: 400), rate: 1)
            // --summary: a deferral says why (without it, cron's runs defer quietly).
            let processes = try (0..<5).map { _ in try h.start(["sync", "--summary"]) }
            let started = Date()
            var outcomes: [(RunOutcome, TimeInterval)] = []
            await withTaskGroup(of: (RunOutcome, TimeInterval).self) { group in
                for process in processes {
                    group.addTask {
                        let outcome = await process.wait(timeout: 120)
                        return (outcome, Date().timeIntervalSince(started))
                    }
                }
                for await result in group { outcomes.append(result) }
            }
            for (outcome, _) in outcomes {
                h.record(outcome.stdout)
                h.record(outcome.stderr)
            }
            let winners = outcomes.filter { $0.0.status == 0 }
            let deferred = outcomes.filter { $0.0.status == 75 }
            #expect(winners.count == 1, "\(outcomes.map(\.0.printed))")
            #expect(deferred.count == 4, "\(outcomes.map(\.0.printed))")
            let winnerEnded = winners.first?.1 ?? 0
            for (outcome, ended) in deferred {
                // At once: long before the winner is done, with one line saying why.
                #expect(ended < winnerEnded, "a deferred run ended after the winner")
                #expect(outcome.stderrLines.count == 1, "\(outcome.printed)")
                #expect(outcome.stderr.contains("another podio-mirror run"), "\(outcome.printed)")
            }
            #expect(try await h.count("SELECT count(*) FROM podio.sync_runs") == 1)
            #expect(try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'succeeded'") == 1)
            let stats = h.simulator.stats()
            #expect(stats.rateLimitErrors == 0, "\(stats)")
            #expect((stats.maxCallsInWindow["rate_limited"] ?? 99) <= 12, "\(stats)")
            h.simulator.clearFaults()
            let differences = try await h.differences()
            #expect(differences == [])
            try await h.expectNoSecretsLeaked()
        }
    }
}
