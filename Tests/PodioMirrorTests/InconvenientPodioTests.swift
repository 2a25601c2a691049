import Foundation
import LibPQ
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

@testable import PodioMirror

/// The engine against the simulator taking Podio's undocumented behaviour the inconvenient way
/// (`PodioSimulator.Quirks`): every live item stays live, no edit is missed, the budget holds.
@Suite("Inconvenient readings of Podio")
struct InconvenientPodioTests {
    static let oneApp = [
        PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 700, fields: .simple)
    ]

    func live(_ h: EngineHarness) async throws -> Int {
        try await h.count("SELECT count(*) FROM podio.items WHERE deleted_at IS NULL")
    }

    /// Pages capped at 100 items whatever the limit: the pass reads on until Podio's `filtered`,
    /// never stopping at the first short page, and still finds deletions.
    @Test func pagesCappedBelowTheLimitLoseNothing() async throws {
        try await EngineHarness.with(apps: Self.oneApp) { h in
            h.simulator.setQuirks(.init(pageCap: 100))
            let first = try await h.sync()
            #expect(first.status == .succeeded)
            #expect(try await h.differences() == [])
            #expect(try await live(h) == 700)
            #expect(first.callsRateLimited >= 7)  // ceil(700 / 100) pages at least
            let app = h.simulator.appIDs()[0]
            let gone = try await h.count("SELECT min(item_id) FROM podio.items")
            try h.simulator.deleteItem(itemID: gone)
            let resync = try await h.sync(.resync)
            #expect(resync.apps.first?.deletionsWithheld == nil)
            #expect(resync.itemsDeleted == 1)
            #expect(try await h.differences(apps: [app]) == [])
        }
    }

    /// An empty page in the middle: the pass steps over it, marks nothing deleted, warns, and
    /// records why; once Podio answers properly the next pass finds the deletions.
    @Test func anEmptyPageInTheMiddleDeletesNothing() async throws {
        try await EngineHarness.with(apps: Self.oneApp) { h in
            _ = try await h.sync()
            #expect(try await live(h) == 700)
            let deleted = try await h.count("SELECT max(item_id) FROM podio.items")
            try h.simulator.deleteItem(itemID: deleted)
            h.simulator.setQuirks(.init(emptyPageAtOffset: 500))
            let resync = try await h.sync(.resync)
            #expect(resync.status == .succeeded)
            #expect(resync.itemsDeleted == 0)
            #expect(try await live(h) == 700)  // nothing marked deleted, the deleted one included
            #expect(resync.apps.first?.deletionsWithheld?.contains("empty page") == true)
            #expect((resync.apps.first?.warnings ?? 0) >= 1)
            let recorded = try await h.scalar(
                "SELECT deletions_withheld FROM podio.sync_runs ORDER BY run_id DESC LIMIT 1")
            #expect(recorded?.contains("empty page") == true)
            h.simulator.setQuirks(.init())
            let again = try await h.sync(.resync)
            #expect(again.itemsDeleted == 1)
            #expect(try await h.differences() == [])
        }
    }

    /// 2,000 items edited in the same second, ties in a new order on every request: the delta
    /// reads by time and a crowded second by item id, so it misses none.
    @Test(.tags(.slow)) func twoThousandEditsInOneSecondWithShuffledTies() async throws {
        let apps = [PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 2_500, fields: .simple)]
        try await EngineHarness.with(apps: apps) { h in
            _ = try await h.sync()
            let ids = try await h.db.run { db in
                try db.query("SELECT item_id FROM podio.items ORDER BY item_id LIMIT 2000").rows.compactMap {
                    $0.int("item_id")
                }
            }
            try h.simulator.editItems(ids)
            h.simulator.setQuirks(.init(shuffleTies: true))
            let delta = try await h.sync()
            #expect(delta.status == .succeeded)
            #expect(delta.itemsWritten == 2_000)
            #expect(try await h.differences() == [])
            // A later delta (the overlap reads the crowded second again) writes nothing.
            let quiet = try await h.sync()
            #expect(quiet.itemsWritten == 0)
        }
    }

    /// Ties shuffled with pages capped too: the walk still ends and still misses nothing.
    @Test func shuffledTiesAndCappedPagesTogether() async throws {
        let apps = [PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 900, fields: .simple)]
        try await EngineHarness.with(apps: apps) { h in
            _ = try await h.sync()
            let ids = try await h.db.run { db in
                try db.query("SELECT item_id FROM podio.items ORDER BY item_id LIMIT 700").rows.compactMap {
                    $0.int("item_id")
                }
            }
            try h.simulator.editItems(ids)
            h.simulator.setQuirks(.init(pageCap: 150, shuffleTies: true))
            let delta = try await h.sync()
            #expect(delta.itemsWritten == 700)
            #expect(try await h.differences() == [])
        }
    }

    /// Podio's `total` counts items the credentials cannot list: the first delta sweeps and
    /// remembers the gap it could not explain; later deltas do not sweep again (one call each)
    /// until the count changes.
    @Test func aGapTheSweepExplainedIsNotSweptAgain() async throws {
        try await EngineHarness.with(apps: Self.oneApp) { h in
            _ = try await h.sync()
            let baseline = try await h.sync().callsRateLimited  // a delta without change (and the app list)
            h.simulator.setQuirks(.init(hiddenItems: 7))
            let first = try await h.sync()
            #expect(first.apps.first?.deletionsFoundBy == "id sweep")
            #expect(first.callsRateLimited >= baseline + 2)  // and ceil(700 / 500) sweep pages
            #expect(try await h.scalar("SELECT sweep_gap FROM podio.sync_state") == "7")
            for _ in 0..<3 {
                let quiet = try await h.sync()
                #expect(quiet.callsRateLimited == baseline, "a delta without change costs what it did before the gap")
                #expect(quiet.apps.first?.deletionsFoundBy == nil)
            }
            // A deletion changes the gap: swept again, and found.
            let gone = try await h.count("SELECT min(item_id) FROM podio.items")
            try h.simulator.deleteItem(itemID: gone)
            let after = try await h.sync()
            #expect(after.apps.first?.deletionsFoundBy == "id sweep")
            #expect(after.itemsDeleted == 1)
            #expect(try await h.differences() == [])
        }
    }

    // MARK: - Listings of a small app (issue 25)

    static let smallApp = [
        PodioSimulator.AppSpec(name: "Tasks", urlLabel: "tasks", itemCount: 300, fields: .simple)
    ]

    /// A small app's turn is a listing of every item; pages capped at 100 and ties shuffled make
    /// it three pages, and it still finds every edit, creation and deletion.
    @Test func aListingUnderCappedPagesAndShuffledTiesMissesNothing() async throws {
        try await EngineHarness.with(apps: Self.smallApp) { h in
            _ = try await h.sync()
            let app = h.simulator.appIDs()[0]
            let ids = try await h.db.run { db in
                try db.query("SELECT item_id FROM podio.items ORDER BY item_id").rows.compactMap { $0.int("item_id") }
            }
            try h.simulator.editItems(Array(ids.prefix(120)))
            try h.simulator.deleteItem(itemID: ids[200])
            try h.simulator.deleteItem(itemID: ids[299])
            _ = try h.simulator.createItem(appID: app)
            h.simulator.setQuirks(.init(pageCap: 100, shuffleTies: true))
            let turn = try await h.sync()
            let summary = try #require(turn.apps.first)
            #expect(summary.mode == .listing)
            #expect(summary.itemsWritten == 121 && summary.itemsDeleted == 2)
            #expect(summary.deletionsFoundBy == "listing" && summary.deletionsWithheld == nil)
            #expect(summary.calls == 3)  // 301 items, 100 a page
            #expect(try await h.differences() == [])
        }
    }

    /// A listing that meets an empty page before the end Podio announced marks nothing deleted
    /// (and says why); the next turn, once Podio answers properly, finds the deletion.
    @Test func aListingThatMissesAPageDeletesNothing() async throws {
        try await EngineHarness.with(apps: Self.smallApp) { h in
            _ = try await h.sync()
            let gone = try await h.count("SELECT max(item_id) FROM podio.items")
            try h.simulator.deleteItem(itemID: gone)
            h.simulator.setQuirks(.init(pageCap: 100, emptyPageAtOffset: 100))
            let turn = try await h.sync()
            #expect(turn.apps.first?.mode == .listing)
            #expect(turn.itemsDeleted == 0)
            #expect(try await live(h) == 300)
            #expect(turn.apps.first?.deletionsWithheld?.contains("empty page") == true)
            #expect((turn.apps.first?.warnings ?? 0) >= 1)
            h.simulator.setQuirks(.init())
            let again = try await h.sync()
            #expect(again.itemsDeleted == 1)
            #expect(try await h.differences() == [])
        }
    }

    /// Podio's `total` counting items the credentials cannot list does not matter to a listing:
    /// it compares what it saw with `filtered`, so each turn is one call, no sweep, and a
    /// deletion is found in it.
    @Test func aListingNeedsNoSweepWhenPodiosTotalCountsHiddenItems() async throws {
        try await EngineHarness.with(apps: Self.smallApp) { h in
            _ = try await h.sync()
            h.simulator.setQuirks(.init(hiddenItems: 7))
            for _ in 0..<2 {
                let quiet = try await h.sync()
                #expect(quiet.apps.first?.mode == .listing)
                #expect(quiet.callsRateLimited == 1 && quiet.apps.first?.warnings == 0)
            }
            let gone = try await h.count("SELECT min(item_id) FROM podio.items")
            try h.simulator.deleteItem(itemID: gone)
            let after = try await h.sync()
            #expect(after.apps.first?.deletionsFoundBy == "listing")
            #expect(after.itemsDeleted == 1 && after.callsRateLimited == 1)
            #expect(try await h.differences() == [])
        }
    }

    /// The ID sweep meets an empty page: no item is marked deleted.
    @Test func aSweepThatMissesAPageDeletesNothing() async throws {
        try await EngineHarness.with(apps: Self.oneApp) { h in
            _ = try await h.sync()
            let gone = try await h.count("SELECT max(item_id) FROM podio.items")
            try h.simulator.deleteItem(itemID: gone)
            h.simulator.setQuirks(.init(emptyPageAtOffset: 500))
            let delta = try await h.sync()
            #expect(delta.itemsDeleted == 0)
            #expect(delta.apps.first?.deletionsWithheld?.contains("id sweep") == true)
            #expect(try await live(h) == 700)
        }
    }
}
