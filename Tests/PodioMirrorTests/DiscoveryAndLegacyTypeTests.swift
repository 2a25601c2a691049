import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

/// How the engine finds the apps (Podio's documented walk, not the undocumented `GET /app/`),
/// against the simulator over HTTP.
@Suite("App discovery")
struct DiscoveryAndLegacyTypeTests {
    /// The standard dataset: one org, two spaces, five apps, one of them inactive. The simulator
    /// is told to serve only one app from `GET /app/`: the engine must find all five anyway.
    @Test func everyAppIsFoundWhenGetAppListsOnlyPartOfThem() async throws {
        try await EngineHarness.with(items: 30, configure: { $0.appListLimit = 1 }) { h in
            let all = h.simulator.appIDs()
            #expect(all.count == 5)
            let summary = try await h.sync()
            #expect(summary.status == "succeeded")
            #expect(Set(summary.apps.map(\.appID)) == Set(all))
            #expect(try await h.differences() == [])
            // One `GET /org/` (spaces embedded), one `GET /app/space/{id}/` per space, no `GET /app/`.
            let served = h.simulator.stats().callsByEndpoint
            #expect(served["GET /app/"] == nil)
            #expect(served["GET /org/"] == 1)
            #expect(served["GET /app/space/{space_id}/"] == 2)
            #expect(served["GET /org/{org_id}/space/"] == nil)
            // Each went through the quota ledger.
            var ledger: [String: Int] = [:]
            for row in try await h.db.run({ try $0.query("SELECT endpoint, count(*) AS n FROM podio.api_calls GROUP BY endpoint").rows }) {
                if let endpoint = row.string("endpoint") { ledger[endpoint] = row.int("n") }
            }
            #expect(ledger["GET /org/"] == 1)
            #expect(ledger["GET /app/space/{space_id}/"] == 2)
            #expect(ledger["GET /app/"] == nil)

            // The `apps` command lists the same five, the inactive one included.
            let outcome = try await ProcessRunner.run(
                ProcessRunner.binary("podio-mirror"), ["apps", "--json"], environment: h.environment, timeout: 120)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let rows = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(Set(rows.compactMap { $0["appID"] as? Int }) == Set(all))
            #expect(rows.contains { $0["status"] as? String == "inactive" })
        }
    }
}
