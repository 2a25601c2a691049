import Foundation
import PodioSimulator
import Testing

@Suite("Field value shapes of the every-type app")
struct FieldShapeTests {
    /// All values per field external id, over every item of the every-type app.
    func collect(_ sim: SimHarness) async throws -> (fields: [String: [String: Any]], values: [String: [[String: Any]]])
    {
        let token = try await sim.userToken()
        let page = try await sim.filter(sim.projects, ["limit": 500], token: token)
        var fields: [String: [String: Any]] = [:]
        var values: [String: [[String: Any]]] = [:]
        for item in sim.items(page) {
            // As in real captures: a top-level revision, fields without status, config trimmed.
            #expect(item["revision"] as? Int == (item["current_revision"] as? [String: Any])?["revision"] as? Int)
            for field in item["fields"] as? [[String: Any]] ?? [] {
                let key = field["external_id"] as? String ?? ""
                fields[key] = field
                values[key, default: []].append(contentsOf: field["values"] as? [[String: Any]] ?? [])
                #expect(Set(field.keys) == ["field_id", "external_id", "type", "label", "config", "values"])
                #expect(Set((field["config"] as? [String: Any] ?? [:]).keys) == ["settings", "mapping", "label"])
            }
        }
        return (fields, values)
    }

    func isDecimal4(_ value: Any?) -> Bool {
        guard let text = value as? String else { return false }
        return text.range(of: #"^-?[0-9]+\.[0-9]{4}$"#, options: .regularExpression) != nil
    }

    func isTime(_ value: Any?) -> Bool {
        (value as? String)?.range(of: #"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"#, options: .regularExpression) != nil
    }

    @Test func everyTypeHasItsShape() async throws {
        try await withSimulator { sim in
            let (fields, values) = try await collect(sim)
            let types = Set(fields.values.compactMap { $0["type"] as? String })
            #expect(
                types == [
                    "text", "number", "money", "progress", "duration", "category", "date", "app", "contact",
                    "location", "embed", "image", "file", "email", "phone", "tel", "calculation",
                ])

            #expect(values["title"]?.allSatisfy { $0["value"] is String } == true)
            #expect(values["description"]?.allSatisfy { ($0["value"] as? String)?.hasPrefix("<p>") == true } == true)
            #expect(values["description"]?.contains { ($0["value"] as? String ?? "").utf8.count >= 10_000 } == true)
            let notes = values["notes"]?.compactMap { $0["value"] as? String } ?? []
            #expect(notes.contains("'); DROP TABLE items;--"))
            #expect(notes.contains { $0.unicodeScalars.contains { $0.properties.isEmoji && $0.value > 0x2000 } })
            #expect(notes.contains { $0.contains("\"") })

            let amounts = values["amount"] ?? []
            #expect(amounts.allSatisfy { isDecimal4($0["value"]) })
            #expect(amounts.contains { $0["value"] as? String == "0.0000" })
            #expect(amounts.contains { ($0["value"] as? String)?.hasPrefix("-") == true })
            #expect(
                values["budget"]?.allSatisfy {
                    isDecimal4($0["value"]) && ["EUR", "USD", "DKK"].contains($0["currency"] as? String ?? "")
                } == true)
            #expect(
                values["progress"]?.allSatisfy { ($0["value"] as? Int).map { (0...100).contains($0) } == true } == true)
            #expect(values["effort"]?.allSatisfy { $0["value"] is Int } == true)

            for key in ["status", "labels"] {
                #expect(
                    values[key]?.allSatisfy { value in
                        guard let option = value["value"] as? [String: Any] else { return false }
                        return option["id"] is Int && option["text"] is String
                            && option["status"] as? String == "active" && option["color"] is String
                    } == true)
            }
            let statusSettings = (fields["status"]?["config"] as? [String: Any])?["settings"] as? [String: Any]
            #expect(statusSettings?["multiple"] as? Bool == false)
            #expect(
                (statusSettings?["options"] as? [[String: Any]])?.contains { $0["status"] as? String == "deleted" }
                    == true)

            let deadline = try #require(values["deadline"]?.first)
            for key in ["start", "start_utc"] { #expect(isTime(deadline[key])) }
            for key in ["start_date", "start_time", "start_date_utc", "start_time_utc"] {
                #expect(deadline[key] is String)
            }
            #expect(deadline["end"] == nil)
            let period = try #require(values["period"]?.first)
            for key in ["start_utc", "end_utc", "end", "end_date_utc", "end_time_utc"] {
                #expect(period[key] is String, "\(key)")
            }
            let dayOff = try #require(values["day-off"]?.first)
            #expect(dayOff["start_date_utc"] is String)
            #expect(dayOff["start_time_utc"] is NSNull)
            #expect(dayOff["start_time"] is NSNull)

            let reference = try #require(values["client"]?.first?["value"] as? [String: Any])
            for key in ["item_id", "app_item_id", "title", "link", "revision", "app"] {
                #expect(reference[key] != nil, "\(key)")
            }
            #expect((reference["app"] as? [String: Any])?["app_id"] as? Int == sim.simulator.appIDs()[1])
            let contact = try #require(values["owner"]?.first?["value"] as? [String: Any])
            #expect(contact["profile_id"] is Int)
            #expect(contact["name"] is String)
            let location = try #require(values["site"]?.first)
            for key in ["value", "formatted", "street_address", "city", "country", "postal_code"] {
                #expect(location[key] is String)
            }
            #expect(location["lat"] is Double)
            #expect(location["lng"] is Double)
            let embed = try #require(values["website"]?.first)
            #expect((embed["embed"] as? [String: Any])?["url"] is String)
            #expect(embed.keys.contains("file"))
            #expect(values["website"]?.contains { $0["file"] is NSNull } == true)
            for key in ["photo", "attachment"] {
                let file = try #require(values[key]?.first?["value"] as? [String: Any])
                #expect(file["file_id"] is Int)
                #expect(file["name"] is String)
            }
            #expect(
                values["email"]?.allSatisfy { $0["type"] is String && ($0["value"] as? String)?.contains("@") == true }
                    == true)
            #expect(values["phone"]?.allSatisfy { $0["type"] is String && $0["value"] is String } == true)
            #expect(
                values["fax"]?.allSatisfy { ($0["uri"] as? String)?.hasPrefix("tel:") == true && $0["value"] is String }
                    == true)
            #expect(values["total"]?.allSatisfy { isDecimal4($0["value"]) } == true)
            #expect(
                values["review-date"]?.allSatisfy { isTime($0["start_utc"]) && $0["start_date_utc"] is String } == true)

            // Empty fields: some items lack some fields.
            let token = try await sim.userToken()
            let items = sim.items(try await sim.filter(sim.projects, ["limit": 500], token: token))
            let counts = items.map { ($0["fields"] as? [Any])?.count ?? 0 }
            #expect(counts.contains { $0 < fields.count })
            #expect(Double(counts.reduce(0, +)) / Double(items.count) > Double(fields.count) * 0.7)
        }
    }

    /// `GET /item/{id}` (the full view) keeps each field's `status` and its whole `config`;
    /// filter results (the short view) trim them, as real captures show.
    @Test func fullViewFieldsCarryStatusAndTheWholeConfig() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let short = try #require(
                sim.items(try await sim.filter(sim.projects, ["limit": 1, "sort_by": "item_id"], token: token)).first)
            let itemID = try #require(short["item_id"] as? Int)
            let full = try await sim.get("/item/\(itemID)", token: token).object
            #expect(full["revision"] as? Int == short["revision"] as? Int)
            let fields = try #require(full["fields"] as? [[String: Any]])
            let shortFields = try #require(short["fields"] as? [[String: Any]])
            #expect(fields.map { $0["field_id"] as? Int } == shortFields.map { $0["field_id"] as? Int })
            for (field, trimmed) in zip(fields, shortFields) {
                #expect(field["status"] as? String == "active")
                #expect(Set(field.keys) == ["field_id", "external_id", "type", "label", "status", "config", "values"])
                let config = try #require(field["config"] as? [String: Any])
                for key in ["label", "description", "delta", "required", "hidden", "mapping", "settings"] {
                    #expect(config.keys.contains(key), "\(key)")
                }
                let trimmedConfig = try #require(trimmed["config"] as? [String: Any])
                #expect(trimmedConfig["label"] as? String == config["label"] as? String)
                #expect(trimmedConfig["mapping"] is NSNull)
                #expect(
                    (try JSONSerialization.data(withJSONObject: trimmedConfig["settings"] ?? [:], options: .sortedKeys))
                        == (try JSONSerialization.data(withJSONObject: config["settings"] ?? [:], options: .sortedKeys))
                )
                #expect(
                    (try JSONSerialization.data(withJSONObject: trimmed["values"] ?? [], options: .sortedKeys))
                        == (try JSONSerialization.data(withJSONObject: field["values"] ?? [], options: .sortedKeys)))
            }
        }
    }

    /// The legacy types of old apps, in their reference shapes: `question` option objects like a
    /// category, `state` one of `allowed_values`, `tag` texts, `member` user ids, `video` file ids.
    @Test func legacyTypesHaveTheirShapes() async throws {
        try await withSimulator({
            $0.apps = [PodioSimulator.AppSpec(name: "Old CRM", urlLabel: "old-crm", itemCount: 80, fields: .legacy)]
        }) { sim in
            let token = try await sim.userToken()
            let app = try await sim.get("/app/\(sim.projects)", token: token).object
            let definitions = try #require(app["fields"] as? [[String: Any]])
            #expect(
                definitions.compactMap { $0["type"] as? String }
                    == ["text", "question", "question", "state", "tag", "member", "video"])
            func settings(_ id: String) -> [String: Any] {
                let field = definitions.first { $0["external_id"] as? String == id }
                return (field?["config"] as? [String: Any])?["settings"] as? [String: Any] ?? [:]
            }
            let allowed = try #require(settings("stage")["allowed_values"] as? [String])
            #expect(settings("approved")["multiple"] as? Bool == false)
            #expect(settings("reasons")["multiple"] as? Bool == true)

            let (_, values) = try await collect(sim)
            for key in ["approved", "reasons"] {
                #expect(values[key]?.isEmpty == false)
                #expect(
                    values[key]?.allSatisfy { value in
                        guard let option = value["value"] as? [String: Any] else { return false }
                        return option["id"] is Int && option["text"] is String
                            && option["status"] as? String == "active"
                    } == true)
            }
            #expect(values["stage"]?.allSatisfy { allowed.contains($0["value"] as? String ?? "") } == true)
            #expect(values["organization"]?.allSatisfy { $0["value"] is String } == true)
            #expect(values["assignee"]?.allSatisfy { $0["value"] is Int } == true)
            #expect(values["clip"]?.allSatisfy { $0["value"] is Int } == true)
            for key in ["stage", "organization", "assignee", "clip"] {
                #expect(values[key]?.isEmpty == false, "\(key)")
            }
        }
    }

    @Test func appDefinitionCarriesSettings() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let app = try await sim.get("/app/\(sim.projects)", token: token).object
            let fields = try #require(app["fields"] as? [[String: Any]])
            func settings(_ id: String) -> [String: Any] {
                let field = fields.first { $0["external_id"] as? String == id }
                return (field?["config"] as? [String: Any])?["settings"] as? [String: Any] ?? [:]
            }
            #expect(settings("description")["format"] as? String == "html")
            #expect(settings("labels")["multiple"] as? Bool == true)
            #expect(settings("period")["end"] as? String == "enabled")
            #expect(settings("day-off")["time"] as? String == "disabled")
            #expect(settings("budget")["allowed_currencies"] as? [String] == ["EUR", "USD", "DKK"])
            #expect(settings("total")["return_type"] as? String == "number")
            #expect(settings("review-date")["return_type"] as? String == "date")
            #expect(
                (settings("client")["referenced_apps"] as? [[String: Any]])?.first?["app_id"] as? Int
                    == sim.simulator.appIDs()[1])
        }
    }

    @Test func hostileAppNamesAndLabels() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let hostile = sim.simulator.appIDs()[2]
            let app = try await sim.get("/app/\(hostile)", token: token)
            #expect(app.status == 200)
            let name = (app.object["config"] as? [String: Any])?["name"] as? String ?? ""
            #expect(name.contains("&quot;Q1&quot;"))
            #expect(name.contains("&amp;"))
            let fields = app.object["fields"] as? [[String: Any]] ?? []
            let labels = fields.compactMap { $0["label"] as? String }
            let externalIDs = fields.compactMap { $0["external_id"] as? String }
            #expect(labels.contains { $0.count == 1000 })
            #expect(externalIDs.contains("select"))
            #expect(externalIDs.contains("\"quoted\""))
            #expect(labels.contains { $0.unicodeScalars.contains { $0.value < 0x20 } })
            let page = try await sim.filter(hostile, ["limit": 50], token: token)
            #expect(page.status == 200)
            #expect(sim.items(page).count == 12)
        }
    }

    @Test func rawFieldsAreServedVerbatim() async throws {
        try await withSimulator { sim in
            let huge = String(repeating: "x", count: 200_000)
            let raw: [[String: Any]] = [
                [
                    "field_id": 1, "external_id": "title", "type": "text", "label": "Title", "status": "active",
                    "config": [:],
                    "values": [["value": "Raw item"]],
                ],
                [
                    "field_id": 2, "external_id": "odd", "type": "hologram", "label": "Odd", "status": "active",
                    "config": [:],
                    "values": [["value": ["nested": [1, 2, 3]]], ["value": huge]],
                ],
            ]
            let itemID = try sim.simulator.createItem(
                appID: sim.projects, rawFields: try JSONSerialization.data(withJSONObject: raw))
            let token = try await sim.userToken()
            let item = try await sim.get("/item/\(itemID)", token: token).object
            #expect(item["title"] as? String == "Raw item")
            let fields = try #require(item["fields"] as? [[String: Any]])
            #expect(fields.count == 2)
            #expect(fields[1]["type"] as? String == "hologram")
            #expect(((fields[1]["values"] as? [[String: Any]])?[1]["value"] as? String)?.count == 200_000)
        }
    }
}
