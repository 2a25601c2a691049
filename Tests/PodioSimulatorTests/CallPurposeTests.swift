import Foundation
import PodioSimulator
import Testing

@Suite("Calls by purpose")
struct CallPurposeTests {
    /// The oracle is the requests this test sends, written out by hand, not the classifier.
    @Test func servedCallsAreCountedByWhatTheRequestAsksFor() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let app = sim.projects
            let second = "2026-01-01 10:00:00"
            // Two delta pages: sorted by last edit, from a high-water mark.
            for offset in [0, 30] {
                let delta = try await sim.filter(
                    app,
                    [
                        "sort_by": "last_edit_on", "limit": 30, "offset": offset,
                        "filters": ["last_edit_on": ["from": "2020-01-01 00:00:00"]],
                    ], token: token)
                #expect(delta.status == 200)
            }
            // The re-read of one crowded second, in item-id order.
            let crowded = try await sim.filter(
                app, ["sort_by": "item_id", "filters": ["last_edit_on": ["from": second, "to": second]]],
                token: token)
            #expect(crowded.status == 200)
            // An ID sweep: item-id order, micro view.
            let sweep = try await sim.filter(
                app, ["sort_by": "item_id", "limit": 500, "filters": ["created_on": ["to": second]]], token: token,
                query: "?fields=items.view(micro)")
            #expect(sweep.status == 200)
            // A full listing: item-id order, full items.
            let full = try await sim.filter(app, ["sort_by": "item_id", "limit": 500], token: token)
            #expect(full.status == 200)
            // What was edited since a time, in item-id order (an open range).
            let since = try await sim.filter(
                app, ["sort_by": "item_id", "filters": ["last_edit_on": ["from": second]]], token: token)
            #expect(since.status == 200)
            #expect(try await sim.get("/app/\(app)", token: token).status == 200)
            #expect(try await sim.get("/app/\(app)", token: token).status == 200)
            #expect(try await sim.get("/org/", token: token).status == 200)
            #expect(try await sim.get("/item/app/\(app)/count", token: token).status == 200)

            let purposes = sim.simulator.stats().callsByPurpose
            #expect(purposes["delta"] == 2)
            #expect(purposes["crowded_second"] == 1)
            #expect(purposes["sweep"] == 1)
            #expect(purposes["full_listing"] == 1)
            #expect(purposes["edited_since"] == 1)
            #expect(purposes["definition"] == 2)
            #expect(purposes["discovery"] == 1)
            #expect(purposes["count"] == 1)
            #expect(purposes.values.reduce(0, +) == 10)
            // The same calls as the endpoint counts, split by purpose.
            let endpoints = sim.simulator.stats().callsByEndpoint
            #expect(endpoints["POST /item/app/{app_id}/filter/"] == 6)

            // A reset forgets them with the other counters.
            sim.simulator.resetStats()
            #expect(sim.simulator.stats().callsByPurpose.isEmpty)
        }
    }
}
