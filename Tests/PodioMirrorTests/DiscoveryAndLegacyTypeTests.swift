import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

/// How the engine finds the apps (Podio's documented walk, not the undocumented `GET /app/`)
/// and how it mirrors the legacy field types, against the simulator over HTTP.
@Suite("App discovery and legacy field types")
struct DiscoveryAndLegacyTypeTests {
    /// The standard dataset: one org, two spaces, five apps, one of them inactive. The simulator
    /// is told to serve only one app from `GET /app/`: the engine must find all five anyway.
    @Test func everyAppIsFoundWhenGetAppListsOnlyPartOfThem() async throws {
        try await EngineHarness.with(items: 30, configure: { $0.appListLimit = 1 }) { h in
            let all = h.simulator.appIDs()
            #expect(all.count == 5)
            let summary = try await h.sync()
            #expect(summary.status == .succeeded)
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
            for row in try await h.db.run({
                try $0.query("SELECT endpoint, count(*) AS n FROM podio.api_calls GROUP BY endpoint").rows
            }) {
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

    /// The legacy types are typed (question like a category, state text, tag texts, member user
    /// ids), the ones without a known shape (video) kept as JSON, all without a warning; a field
    /// of a type the mirror does not know, added to the app, is kept as JSON without a warning,
    /// while a value of a known type in a shape it cannot read is warned about once.
    @Test func legacyTypesAreTypedAndJSONIsKeptWithoutWarnings() async throws {
        let spec = PodioSimulator.AppSpec(name: "Old CRM", urlLabel: "old-crm", itemCount: 60, fields: .legacy)
        try await EngineHarness.with(apps: [spec]) { h in
            let app = h.simulator.appIDs()[0]
            let first = try await h.sync()
            #expect(first.status == .succeeded)
            #expect(first.apps.first?.warnings == 0)
            #expect(try await h.differences() == [])
            var types: [String: String] = [:]
            for row in try await h.db.run({
                try $0.query(
                    """
                    SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
                    WHERE attrelid = 'podio_apps.old_crm'::regclass AND attnum > 0 AND NOT attisdropped
                    """
                ).rows
            }) {
                if let name = row.string("name") { types[name] = row.string("type") }
            }
            #expect(types["approved"] == "text")
            #expect(types["reasons"] == "text[]")
            #expect(types["stage"] == "text")
            #expect(types["organization"] == "text[]")
            #expect(types["assignee"] == "bigint[]")
            #expect(types["clip"] == "jsonb")
            // Every typed legacy column holds values (the oracle checked each one above).
            let filled = try await h.scalar(
                """
                SELECT count(approved) > 0 AND count(reasons) > 0 AND count(stage) > 0 AND count(organization) > 0
                       AND count(assignee) > 0 AND count(clip) > 0
                FROM podio_apps.old_crm
                """)
            #expect(filled == "t")
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio_apps.old_crm WHERE 1000100 <= ALL (assignee) AND 1000104 >= ALL (assignee)"
                )
                    == (try await h.count("SELECT count(*) FROM podio_apps.old_crm WHERE assignee IS NOT NULL")))

            // A type the mirror does not know, added in Podio; then two items: one with a state
            // value of a shape nobody reads, one with only the unknown type's value.
            let hologram = try h.simulator.addField(appID: app, type: "hologram", label: "Hologram")
            let truth = try JSONSerialization.jsonObject(with: h.simulator.truth()) as? [String: Any]
            let fields = ((truth?["apps"] as? [[String: Any]])?.first?["fields"] as? [[String: Any]]) ?? []
            func id(_ externalID: String) throws -> Int {
                try #require(fields.first { $0["external_id"] as? String == externalID }?["field_id"] as? Int)
            }
            let title = try id("title")
            let stage = try id("stage")
            let hologramValues: [[String: Any]] = [["value": ["beam": [1, 2, 3]]], ["value": "two"]]
            let odd = try h.simulator.createItem(
                appID: app,
                rawFields: try JSONSerialization.data(withJSONObject: [
                    [
                        "field_id": title, "external_id": "title", "type": "text", "label": "Title",
                        "values": [["value": "odd state"]],
                    ],
                    [
                        "field_id": stage, "external_id": "stage", "type": "state", "label": "Stage",
                        "values": [["value": ["x": 1]]],
                    ],
                    [
                        "field_id": hologram, "external_id": "hologram", "type": "hologram", "label": "Hologram",
                        "values": hologramValues,
                    ],
                ]))
            let quiet = try h.simulator.createItem(
                appID: app,
                rawFields: try JSONSerialization.data(withJSONObject: [
                    [
                        "field_id": title, "external_id": "title", "type": "text", "label": "Title",
                        "values": [["value": "hologram only"]],
                    ],
                    [
                        "field_id": hologram, "external_id": "hologram", "type": "hologram", "label": "Hologram",
                        "values": hologramValues,
                    ],
                ]))
            let second = try await h.sync()
            #expect(second.status == .succeeded)
            #expect(second.apps.first?.itemsWritten == 2)
            #expect(second.apps.first?.warnings == 1, "only the state value nobody can read is warned about")
            #expect(try await h.differences() == [])
            #expect(
                try await h.scalar(
                    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'podio_apps.old_crm'::regclass AND attname = 'hologram'"
                ) == "jsonb")
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio_apps.old_crm WHERE item_id = ANY ($1::bigint[]) AND hologram = $2::jsonb",
                    [
                        [odd, quiet],
                        String(decoding: try JSONSerialization.data(withJSONObject: hologramValues), as: UTF8.self),
                    ]) == 2)
            #expect(
                try await h.count("SELECT count(*) FROM podio_apps.old_crm WHERE item_id = $1 AND stage IS NULL", [odd])
                    == 1)
        }
    }
}
