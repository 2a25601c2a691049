import Foundation
import PodioSimulator
import TestSupport
import Testing

/// Items Podio should not send but might: each is stored as received, warned about once, and
/// never costs the rest of its page. Values of a type the mirror does not know are no such
/// thing: they are kept as JSON without a warning.
@Suite("Bad data from Podio")
struct BadDataTests {
    /// Text that does not compress (as a long pasted document would not compress to a few KB).
    static func incompressibleText(bytes: Int) -> String {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-éü")
        var text = ""
        text.reserveCapacity(bytes)
        while text.utf8.count < bytes {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            text.append(alphabet[Int((state >> 33) % UInt64(alphabet.count))])
        }
        return text
    }

    static func json(_ value: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: value)
    }

    @Test func badItemsAreKeptRawWarnedOnceAndTheRestOfThePageSyncs() async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 40)]
        try await CLIHarness.with(options) { h in
            let app = h.simulator.appIDs()[0]
            let fields = (try h.truthApps().first?["fields"] as? [[String: Any]]) ?? []
            func field(_ externalID: String) throws -> [String: Any] {
                let f = try #require(fields.first { $0["external_id"] as? String == externalID })
                return [
                    "field_id": f["field_id"] ?? 0, "external_id": externalID, "type": f["type"] ?? "",
                    "label": f["label"] ?? externalID,
                ]
            }
            func with(_ f: [String: Any], values: [Any]) -> [String: Any] {
                var f = f
                f["values"] = values
                return f
            }
            let title = try field("title")
            let amount = try field("amount")
            let deadline = try field("deadline")
            let description = try field("description")
            let huge = Self.incompressibleText(bytes: 1_048_576)
            // A field of a type podio-mirror does not know, in the app's definition: its column is jsonb.
            let hologramID = try h.simulator.addField(appID: app, type: "hologram", label: "Hologram")
            let hologramValues: [[String: Any]] = [["value": ["beam": [1, 2, 3]]], ["value": "two"]]

            // 1. No title: no text field at all.
            let untitled = try h.simulator.createItem(
                appID: app, rawFields: Self.json([with(amount, values: [["value": "12.5000"]])]))
            // 2. Fields of a type podio-mirror does not know: one the definition has (kept as JSON,
            // no warning), one it lacks (kept in the raw JSON, warned about once by field).
            let unknownType = try h.simulator.createItem(
                appID: app,
                rawFields: Self.json([
                    with(title, values: [["value": "unknown type"]]),
                    [
                        "field_id": hologramID, "external_id": "hologram", "type": "hologram", "label": "Hologram",
                        "values": hologramValues,
                    ],
                    [
                        "field_id": 987_654, "external_id": "hologram-2", "type": "hologram", "label": "Hologram 2",
                        "values": [["value": ["beam": [1, 2, 3]]]],
                    ],
                ]))
            // 3. A number whose value is an object.
            let oddShape = try h.simulator.createItem(
                appID: app,
                rawFields: Self.json([
                    with(title, values: [["value": "odd shape"]]),
                    with(amount, values: [["value": ["nested": true]]]),
                ]))
            // 4. A date in a format Podio does not use.
            let oddDate = try h.simulator.createItem(
                appID: app,
                rawFields: Self.json([
                    with(title, values: [["value": "odd date"]]),
                    with(deadline, values: [["start": "31/12/2024 10:00", "start_utc": "12/31/2024 9am"]]),
                ]))
            // 5. A 1 MB text.
            let hugeItem = try h.simulator.createItem(
                appID: app,
                rawFields: Self.json([
                    with(title, values: [["value": "huge"]]),
                    with(description, values: [["value": huge]]),
                ]))
            // 6. A title too large for an index, 300 KB.
            let hugeTitle = Self.incompressibleText(bytes: 300_000)
            let hugeTitleItem = try h.simulator.createItem(
                appID: app, rawFields: Self.json([with(title, values: [["value": hugeTitle]])]))
            // Not bad: a long text that compresses well, on the same page, keeps its typed value.
            let longButFine = try h.simulator.createItem(
                appID: app,
                rawFields: Self.json([
                    with(title, values: [["value": "long but fine"]]),
                    with(description, values: [["value": String(repeating: "lorem ipsum dolor ", count: 2_000)]]),
                ]))
            let bad = [untitled, unknownType, oddShape, oddDate, hugeItem, hugeTitleItem]

            let outcome = try await h.run(["sync"])
            #expect(outcome.status == 0, "\(outcome.printed)")
            // The whole page is there: 40 seeded items and the 5 bad ones, equal to the truth.
            #expect(try await h.count("SELECT count(*) FROM podio.items WHERE app_id = $1", [app]) == 47)
            // Equal to the truth, the huge texts included: the app table indexes no text.
            #expect(try await h.differences() == [])
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio_apps.projects WHERE item_id = $1 AND description LIKE 'lorem%'",
                    [longButFine]) == 1)
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio_apps.projects WHERE item_id = $1 AND hologram = $2::jsonb",
                    [unknownType, String(decoding: try Self.json(hologramValues), as: UTF8.self)]) == 1)
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio_apps.projects WHERE item_id = $1 AND title = $2",
                    [hugeTitleItem, hugeTitle]) == 1)
            #expect(
                try await h.scalar("SELECT md5(description) FROM podio_apps.projects WHERE item_id = $1", [hugeItem])
                    == (try await h.scalar("SELECT md5($1)", [huge])))
            // Raw JSON as received (lossless), the huge text byte for byte.
            let truthItems = (try h.truthApps().first?["items"] as? [[String: Any]]) ?? []
            for id in bad {
                let item = try #require(truthItems.first { $0["item_id"] as? Int == id })
                let fieldsJSON = String(decoding: try Self.json(item["fields"] ?? []), as: UTF8.self)
                #expect(
                    try await h.count(
                        "SELECT count(*) FROM podio.items WHERE item_id = $1 AND raw->'fields' = $2::jsonb",
                        [id, fieldsJSON]) == 1,
                    "item \(id) is not stored as received")
            }
            #expect(
                try await h.scalar(
                    "SELECT md5(raw->'fields'->1->'values'->0->>'value') FROM podio.items WHERE item_id = $1",
                    [hugeItem])
                    == (try await h.scalar("SELECT md5($1)", [huge])))
            // One warning line for each bad item, naming it; none for the good ones (the huge texts
            // are typed like any other) nor for the value of a type kept as JSON.
            let warnings = outcome.stderrLines.filter { $0.contains("warning") }
            #expect(!warnings.contains { $0.contains("item \(unknownType) ") }, "\(warnings)")
            // The field unknown to the app's definition is warned about once, by field.
            let warned = [untitled, oddShape, oddDate]
            for id in warned {
                let lines = warnings.filter { $0.contains("item \(id) of app \(app)") }
                #expect(lines.count == 1, "warnings for item \(id): \(warnings)")
            }
            #expect(
                warnings.filter { $0.contains("field 987654") && $0.contains("podio.items.raw only") }.count == 1,
                "\(warnings)")
            #expect(warnings.count == warned.count + 1, "\(warnings)")
            #expect(unknownType > 0)
            #expect(!outcome.stderr.contains(String(huge.prefix(100))), "the huge value was printed")
            #expect(!outcome.stderr.contains(String(hugeTitle.prefix(100))), "the huge title was printed")

            // A later sync does not warn again about items that did not change.
            let quiet = try await h.sync()
            #expect(!quiet.stderr.contains("warning"), "\(quiet.printed)")
            try await h.expectNoSecretsLeaked()
        }
    }
}
