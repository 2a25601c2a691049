import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

@Suite("Local history: the previous state of an edited item is kept")
struct ItemHistoryTests {
    static let app = [PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 40, fields: .simple)]

    @Test func editsKeepThePreviousStateInTheSameRun() async throws {
        try await EngineHarness.with(apps: Self.app) { h in
            try await h.sync()
            #expect(try await h.count("SELECT count(*) FROM podio.item_versions") == 0)
            let ids = try await h.db.run { db in
                try db.query("SELECT item_id FROM podio.items ORDER BY item_id LIMIT 3").rows.compactMap {
                    $0.int("item_id")
                }
            }
            let before = try await h.db.run { db in
                try db.query(
                    "SELECT item_id, revision, title, last_edit_on::text AS e, raw::text AS raw FROM podio.items WHERE item_id = ANY ($1::bigint[]) ORDER BY item_id",
                    [ids]
                ).rows.map {
                    ($0.int("item_id")!, $0.int("revision")!, $0.string("title")!, $0.string("e"), $0.string("raw")!)
                }
            }
            for id in ids { try h.simulator.editItem(itemID: id, title: "Edited \(id)") }
            let delta = try await h.sync()
            #expect(delta.status == .succeeded)
            #expect(try await h.differences() == [])
            #expect(try await h.count("SELECT count(*) FROM podio.item_versions") == 3)
            for (id, revision, title, lastEdit, raw) in before {
                let row = try await h.db.run { db in
                    try db.query(
                        """
                        SELECT v.revision, v.title, v.last_edit_on::text AS e, v.raw = $2::jsonb AS same_raw,
                               v.superseded_by = i.revision AS superseded_by_current, v.edited_by_id, v.edited_by_name, v.edited_by_type,
                               v.app_id = i.app_id AS same_app
                        FROM podio.item_versions v JOIN podio.items i USING (item_id) WHERE v.item_id = $1
                        """, [id, raw]
                    ).first
                }
                let version = try #require(row)
                #expect(version.int("revision") == revision)
                #expect(version.string("title") == title)
                #expect(version.string("e") == lastEdit)
                #expect(version.bool("same_raw") == true)
                #expect(version.bool("superseded_by_current") == true)
                #expect(version.bool("same_app") == true)
                #expect(version.string("edited_by_type") == "user")
                #expect(version.int("edited_by_id") != nil)
                #expect(version.string("edited_by_name") != nil)
            }
            // The current state is the new one.
            #expect(try await h.count("SELECT count(*) FROM podio.items WHERE title LIKE 'Edited %'") == 3)

            // Activity without a revision (a comment), read by a resync, keeps no version.
            let quietID = try await h.count("SELECT max(item_id) FROM podio.items")
            try h.simulator.comment(itemID: quietID)
            try await h.sync(.resync)
            #expect(try await h.differences() == [])
            #expect(try await h.count("SELECT count(*) FROM podio.item_versions") == 3)

            // A second edit of one of them: two versions, one per revision the mirror saw.
            try h.simulator.editItem(itemID: ids[0], title: "Edited again")
            try await h.sync()
            #expect(try await h.count("SELECT count(*) FROM podio.item_versions WHERE item_id = $1", [ids[0]]) == 2)
            #expect(
                try await h.scalar(
                    "SELECT title FROM podio.item_versions WHERE item_id = $1 ORDER BY revision DESC LIMIT 1", [ids[0]])
                    == "Edited \(ids[0])")

            // Idle: nothing new, and a resync re-reads every item without adding versions.
            let idle = try await h.sync()
            #expect(idle.itemsWritten == 0)
            try await h.sync(.resync)
            #expect(try await h.count("SELECT count(*) FROM podio.item_versions") == 4)

            // A deleted item's last state stays in podio.items; nothing is added to the history.
            try h.simulator.deleteItem(itemID: ids[1])
            try await h.sync(.resync)
            #expect(try await h.count("SELECT count(*) FROM podio.item_versions") == 4)
        }
    }

    @Test func theREADMEQueryReadsAFieldAsItWasOnAGivenDay() async throws {
        try await EngineHarness.with(apps: Self.app) { h in
            try await h.sync()
            let id = try await h.count("SELECT min(item_id) FROM podio.items")
            let oldTitle = try await h.scalar("SELECT title FROM podio.items WHERE item_id = $1", [id])
            let oldEdit = try #require(
                try await h.scalar("SELECT last_edit_on::text FROM podio.items WHERE item_id = $1", [id]))
            try h.simulator.editItem(itemID: id, title: "Renamed")
            try await h.sync()
            // The title field's value as it was just after the old edit, and as it is now.
            let asOf = """
                WITH states AS (
                    SELECT revision, last_edit_on, raw FROM podio.item_versions WHERE item_id = $1
                    UNION ALL
                    SELECT revision, last_edit_on, raw FROM podio.items WHERE item_id = $1
                )
                SELECT f->'values'->0->>'value' AS value
                FROM (SELECT * FROM states WHERE last_edit_on <= $2::timestamptz ORDER BY revision DESC LIMIT 1) AS s
                CROSS JOIN LATERAL jsonb_array_elements(s.raw->'fields') AS f
                WHERE f->>'external_id' = 'title'
                """
            #expect(try await h.scalar(asOf, [id, oldEdit]) == oldTitle)
            #expect(try await h.scalar(asOf, [id, "2999-01-01"]) == "Renamed")
        }
    }

    @Test func historyOffKeepsNothing() async throws {
        try await EngineHarness.with(apps: Self.app) { h in
            var settings = h.settings
            settings.history = false
            _ = try await h.coordinator(settings: settings).run(SyncOptions(kind: .sync))
            let id = try await h.count("SELECT min(item_id) FROM podio.items")
            try h.simulator.editItem(itemID: id, title: "Changed")
            _ = try await h.coordinator(settings: settings).run(SyncOptions(kind: .sync))
            #expect(try await h.scalar("SELECT title FROM podio.items WHERE item_id = $1", [id]) == "Changed")
            #expect(try await h.count("SELECT count(*) FROM podio.item_versions") == 0)
        }
    }

    @Test func settingsReadTheSwitches() throws {
        let base = ["PODIO_CLIENT_ID": "a", "PODIO_CLIENT_SECRET": "b"]
        let defaults = try MirrorSettings.fromEnvironment(base)
        #expect(defaults.history && defaults.comments)
        var env = base
        env["PODIO_HISTORY"] = "off"
        env["PODIO_COMMENTS"] = "0"
        let off = try MirrorSettings.fromEnvironment(env)
        #expect(!off.history && !off.comments)
        #expect(off.filesDirectory == nil)
        env["PODIO_FILES"] = "/tmp/podio-files"
        #expect(try MirrorSettings.fromEnvironment(env).filesDirectory == "/tmp/podio-files")
        env["PODIO_FILES"] = "on"
        #expect(throws: MirrorError.self) { try MirrorSettings.fromEnvironment(env) }
        env["PODIO_FILES"] = "off"
        env["PODIO_HISTORY"] = "maybe"
        #expect(throws: MirrorError.self) { try MirrorSettings.fromEnvironment(env) }
    }
}
