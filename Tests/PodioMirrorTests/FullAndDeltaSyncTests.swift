import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import Synchronization
import TestSupport
import Testing

@Suite("Full and delta sync against the simulator and PostgreSQL")
struct FullAndDeltaSyncTests {
    static let fourApps = [
        PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 1234),
        PodioSimulator.AppSpec(name: "Leads & Clients", urlLabel: "leads-clients", itemCount: 37, fields: .simple),
        PodioSimulator.AppSpec(name: "Empty", urlLabel: "empty", itemCount: 0, fields: .simple),
        PodioSimulator.AppSpec(name: "Tasks", urlLabel: "tasks", itemCount: 501),
    ]

    @Test(.tags(.slow)) func fullLoadThenDeltasEqualTheTruth() async throws {
        try await EngineHarness.with(apps: Self.fourApps) { h in
            let apps = h.simulator.appIDs()
            let first = try await h.sync()
            #expect(first.status == .succeeded)
            let differences1 = try await h.differences()
            #expect(differences1 == [])
            #expect(try await h.count("SELECT count(*) FROM podio.items WHERE deleted_at IS NULL") == 1234 + 37 + 501)
            #expect(first.apps.map(\.mode) == [.full, .full, .full, .full])
            // Calls: the apps are found by GET /org/ (general) and GET /app/space/{id}/ for each of
            // the two spaces (rate-limited), then per app GET /app/{id} + ceil(items/500) filter
            // pages (at least one).
            let lowerBound = [1234, 37, 0, 501].map { max(1, ($0 + 499) / 500) }.reduce(0, +)
            #expect(first.callsRateLimited == lowerBound + 2)  // + GET /app/space/{id}/ twice
            #expect(first.callsGeneral == 1 + 4)  // GET /org/, GET /app/{id}
            #expect(try await h.count("SELECT count(*) FROM podio.app_fields") > 20)
            #expect(try await h.count("SELECT count(*) FROM podio_apps.projects") == 1234)
            #expect(
                try await h.scalar("SELECT name FROM podio.apps WHERE url_label = 'leads-clients'") == "Leads & Clients"
            )

            // A turn with no change: one filter call per app (a delta; a listing of every item for
            // the apps of at most 500), nothing written; the app list is the one cached by the
            // first run (PODIO_APPS_REFRESH): no discovery call.
            let syncedAt = try await h.scalar("SELECT max(synced_at)::text FROM podio.items")
            let quiet = try await h.sync()
            #expect(quiet.apps.map(\.mode) == [.delta, .listing, .listing, .delta])
            #expect(quiet.callsRateLimited == 4)
            #expect(quiet.callsGeneral == 0)
            #expect(quiet.itemsWritten == 0 && quiet.itemsDeleted == 0)
            #expect(try await h.scalar("SELECT max(synced_at)::text FROM podio.items") == syncedAt)

            // 25 edits, 14 creates, 9 deletes in the big app.
            let big = apps[0]
            let truth = try JSONSerialization.jsonObject(with: h.simulator.truth()) as? [String: Any]
            let bigItems =
                ((truth?["apps"] as? [[String: Any]])?.first { ($0["app_id"] as? Int) == big }?["items"]
                    as? [[String: Any]]) ?? []
            let ids = bigItems.compactMap { $0["item_id"] as? Int }
            for id in ids.prefix(25) { try h.simulator.editItem(itemID: id) }
            for _ in 0..<14 { try h.simulator.createItem(appID: big) }
            for id in ids.suffix(9) { try h.simulator.deleteItem(itemID: id) }
            let delta = try await h.sync()
            #expect(delta.status == .succeeded)
            let differences2 = try await h.differences()
            #expect(differences2 == [])
            let bigSummary = try #require(delta.apps.first { $0.appID == big })
            #expect(bigSummary.mode == .delta)
            #expect(bigSummary.itemsWritten == 25 + 14)
            #expect(bigSummary.itemsDeleted == 9)
            #expect(bigSummary.deletionsFoundBy == "id sweep")
            #expect(try await h.count("SELECT count(*) FROM podio.items WHERE deleted_at IS NOT NULL") == 9)
            // The delta read 39 changed items in one page plus an id sweep of ceil(1239/500) pages.
            #expect(bigSummary.calls == 1 + 3)
            #expect(try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'succeeded'") == 3)

            // The small app (37 items): its listing finds an edit and two deletions in its one
            // call, and is not a full sync (the definition is not read; last_full_sync_at stays).
            let small = apps[1]
            let fullSyncAt = try await h.scalar(
                "SELECT last_full_sync_at::text FROM podio.sync_state WHERE app_id = $1", [small])
            let smallIDs = try await h.db.run {
                try $0.query("SELECT item_id FROM podio.items WHERE app_id = $1 ORDER BY item_id", [small]).rows
                    .compactMap { $0.int("item_id") }
            }
            try h.simulator.editItem(itemID: smallIDs[0])
            try h.simulator.deleteItem(itemID: smallIDs[1])
            try h.simulator.deleteItem(itemID: smallIDs[2])
            let definitions = h.simulator.stats().callsByEndpoint["GET /app/{app_id}", default: 0]
            let listed = try await h.sync(apps: [small])
            let smallSummary = try #require(listed.apps.first)
            #expect(smallSummary.mode == .listing)
            #expect(smallSummary.itemsWritten == 1 && smallSummary.itemsDeleted == 2)
            #expect(smallSummary.deletionsFoundBy == "listing")
            #expect(smallSummary.calls == 1)
            #expect(h.simulator.stats().callsByEndpoint["GET /app/{app_id}", default: 0] == definitions)
            #expect(
                try await h.scalar("SELECT last_full_sync_at::text FROM podio.sync_state WHERE app_id = $1", [small])
                    == fullSyncAt)
            let differences3 = try await h.differences()
            #expect(differences3 == [])
        }
    }

    @Test func fullPassSurvivesCreatesAndDeletesBetweenPages() async throws {
        try await EngineHarness.with(apps: [
            PodioSimulator.AppSpec(name: "Big", urlLabel: "big", itemCount: 1600, fields: .simple)
        ]) { h in
            let app = h.simulator.appIDs()[0]
            let truth = try JSONSerialization.jsonObject(with: h.simulator.truth()) as? [String: Any]
            let ids = (((truth?["apps"] as? [[String: Any]])?.first?["items"] as? [[String: Any]]) ?? []).compactMap {
                $0["item_id"] as? Int
            }.sorted()
            let simulator = h.simulator
            let mutated = MutationFlag()
            let summary = try await h.sync(observer: { event in
                // After the first page: delete 7 items already read (shifts later ones left) and
                // 3 not yet read, and create 5.
                if case .page(_, _, let done, _, _) = event, done == 500, mutated.setOnce() {
                    for id in ids.prefix(7) { try? simulator.deleteItem(itemID: id) }
                    for id in ids[900..<903] { try? simulator.deleteItem(itemID: id) }
                    for _ in 0..<5 { _ = try? simulator.createItem(appID: app) }
                }
            })
            #expect(summary.status == .succeeded)
            // Every item that existed throughout is mirrored; none twice.
            let stillThere = Set(ids).subtracting(ids.prefix(7)).subtracting(ids[900..<903])
            let mirrored = try await h.db.run { db in
                Set(
                    try db.query("SELECT item_id FROM podio.items WHERE deleted_at IS NULL").rows.compactMap {
                        $0.int("item_id")
                    })
            }
            #expect(stillThere.subtracting(mirrored).isEmpty)
            #expect(try await h.count("SELECT count(*) - count(DISTINCT item_id) FROM podio.items") == 0)
            // The next delta brings the rest (creations after the cutoff, deletions) in line.
            _ = try await h.sync()
            let differences3 = try await h.differences()
            #expect(differences3 == [])
        }
    }

    @Test func commentsRefreshActivityWithoutRewritingValues() async throws {
        try await EngineHarness.with(apps: [
            PodioSimulator.AppSpec(name: "Small", urlLabel: "small", itemCount: 20, fields: .simple)
        ]) { h in
            _ = try await h.sync()
            // Comments do not move last_edit_on, so a delta sees them when it re-reads the item:
            // here the item was edited a moment ago and is inside the delta's overlap window.
            let item = try #require(Int(try await h.scalar("SELECT min(item_id) FROM podio.items") ?? ""))
            try h.simulator.editItem(itemID: item)
            _ = try await h.sync()
            let before = try await h.scalar(
                "SELECT synced_at::text || revision FROM podio.items WHERE item_id = $1", [item])
            try h.simulator.comment(itemID: item)
            let summary = try await h.sync()
            #expect(summary.itemsWritten == 0)
            #expect(summary.apps.first?.activityRefreshed == 1)
            #expect(
                try await h.scalar("SELECT synced_at::text || revision FROM podio.items WHERE item_id = $1", [item])
                    == before)
            #expect(try await h.count("SELECT comment_count FROM podio.items WHERE item_id = $1", [item]) == 1)
        }
    }

    @Test func dryRunWritesNothing() async throws {
        try await EngineHarness.with(apps: [
            PodioSimulator.AppSpec(name: "Small", urlLabel: "small", itemCount: 30, fields: .simple)
        ]) { h in
            let summary = try await h.sync(dryRun: true)
            #expect(summary.dryRun)
            #expect(summary.itemsWritten == 30)
            #expect(try await h.count("SELECT count(*) FROM podio.items") == 0)
            #expect(try await h.count("SELECT count(*) FROM podio.apps") == 0)
            // The calls still went through the ledger.
            #expect(try await h.count("SELECT count(*) FROM podio.api_calls") >= 2)
        }
    }

    @Test func schemaChangesNeverLoseData() async throws {
        try await EngineHarness.with(apps: [
            PodioSimulator.AppSpec(name: "Small", urlLabel: "small", itemCount: 10, fields: .simple)
        ]) { h in
            let app = h.simulator.appIDs()[0]
            _ = try await h.sync()
            let fieldsBefore = try await h.count("SELECT count(*) FROM podio.app_fields WHERE status = 'active'")
            let newField = try h.simulator.addField(appID: app, type: "text", label: "Notes", externalID: "notes")
            let item = try h.simulator.createItem(appID: app, title: "after the new field")
            let summary = try await h.sync()
            #expect(summary.apps.first?.fieldsChanged == true)
            #expect(
                try await h.count("SELECT count(*) FROM podio.app_fields WHERE status = 'active'") == fieldsBefore + 1)
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio_apps.small WHERE item_id = $1 AND notes IS NOT NULL", [item]) == 1)
            try h.simulator.deleteField(appID: app, fieldID: newField)
            _ = try await h.sync(.resync)
            #expect(
                try await h.scalar("SELECT status FROM podio.app_fields WHERE field_id = $1", [newField]) == "deleted")
            #expect(
                try await h.count(
                    "SELECT count(*) FROM information_schema.columns WHERE table_name = 'small' AND column_name = 'notes'"
                ) == 0)
            let differences4 = try await h.differences()
            #expect(differences4 == [])
        }
    }
}

/// A flag set once, from a Sendable observer.
final class MutationFlag: Sendable {
    private let flag = Synchronization.Mutex(false)

    func setOnce() -> Bool {
        flag.withLock { value in
            defer { value = true }
            return !value
        }
    }
}
