import Foundation
import PodioAPI
import PodioSimulator
import Testing

@Suite("Paging and decoding")
struct PagingAndDecodingTests {
    @Test func pageSizeIsClampedToPodiosBounds() {
        #expect(PageSize(clamping: 900).value == 500)
        #expect(PageSize(clamping: 500).value == 500)
        #expect(PageSize(clamping: 499).value == 499)
        #expect(PageSize(clamping: 0).value == 1)
        #expect(PageSize(clamping: -7).value == 1)
        #expect(PageSize.maximum.value == 500)
    }

    @Test func filterBodyHasStrictTypes() throws {
        let from = try #require(utcDate("2024-05-01 10:20:30"))
        let filter = ItemFilter(
            sortBy: .lastEditOn, sortDescending: true, limit: PageSize(clamping: 9000), offset: 1000,
            lastEditOn: ItemFilter.DateRange(from: from))
        let body = try TestJSON.parse(filter.jsonBody())
        #expect(body["limit"] == .number("500"))
        #expect(body["offset"] == .number("1000"))
        #expect(body["sort_desc"] == .bool(true))
        #expect(body["remember"] == .bool(false))
        #expect(body["sort_by"] == .string("last_edit_on"))
        #expect(body["filters"]?["last_edit_on"]?["from"] == .string("2024-05-01 10:20:30"))
        #expect(body["filters"]?["last_edit_on"]?["to"] == nil)
        #expect(body["filters"]?["created_on"] == nil)
    }

    @Test func pagesThrough1234ItemsInPagesOf500() async throws {
        // A simple app keeps the pages small; the every-type test covers the field shapes.
        let spec = PodioSimulator.AppSpec(name: "Big & Simple", urlLabel: "big", itemCount: 1234, fields: .simple)
        try await withClient(sim: { $0.apps = [spec] }) { c in
            let size = PageSize(clamping: 900)
            #expect(size.value == 500)
            var ids: [Int] = []
            var sizes: [Int] = []
            var offset = 0
            while true {
                let page = try await c.client.filterItems(
                    appID: c.projects, ItemFilter(sortBy: .itemID, limit: size, offset: offset))
                #expect(page.total == 1234)
                #expect(page.filtered == 1234)
                sizes.append(page.items.count)
                ids += page.items.map(\.itemID)
                offset += page.items.count
                if page.items.count < size.value || offset >= page.filtered { break }
            }
            #expect(sizes == [500, 500, 234])
            #expect(sizes.reduce(0, +) == 1234)
            #expect(Set(ids).count == 1234)  // no duplicates
            #expect(ids == ids.sorted())
            #expect(c.served("POST /item/app/{app_id}/filter/") == 3)
            #expect(c.gate.acquired == Array(repeating: .filterItems, count: 3))
            // Exactly the simulator's items.
            let truth = try #require(try JSONSerialization.jsonObject(with: c.sim.truth()) as? [String: Any])
            let apps = try #require(truth["apps"] as? [[String: Any]])
            let app = try #require(apps.first { $0["app_id"] as? Int == c.projects })
            let truthIDs = (app["items"] as? [[String: Any]] ?? []).compactMap { $0["item_id"] as? Int }
            #expect(Set(truthIDs) == Set(ids))

            // The micro view pages the same ids.
            let micro = try await c.client.filterItems(
                appID: c.projects, ItemFilter(sortBy: .itemID, limit: size, offset: 1000), micro: true)
            #expect(micro.items.map(\.itemID) == Array(ids.suffix(234)))
            #expect(micro.items.allSatisfy { $0.revision >= 0 && $0.title != nil })
        }
    }

    @Test func everyFieldTypeDecodesWithoutLoss() async throws {
        try await withClient(sim: { $0.items = 30 }) { c in
            // Items created through the control API carry a value in every field.
            let full = try c.sim.createItem(appID: c.projects, title: "Every \"field\" — Ünï 🚀")
            let app = try await c.client.app(c.projects)
            let activeTypes = Set(app.fields.filter { $0.status != "deleted" }.map(\.type))
            #expect(
                activeTypes.isSuperset(of: [
                    "text", "number", "money", "progress", "duration", "category", "date", "app", "contact", "location",
                    "embed", "image", "file", "email", "phone", "tel", "calculation",
                ]))

            let page = try await c.client.filterItems(appID: c.projects, ItemFilter(limit: .maximum))
            #expect(page.items.count == 31)

            // Raw bytes: the page's `items` array is exactly the items' raw bytes joined.
            var joined = Data("\"items\":[".utf8)
            for (index, item) in page.items.enumerated() {
                if index > 0 { joined.append(UInt8(ascii: ",")) }
                joined.append(item.raw)
            }
            joined.append(UInt8(ascii: "]"))
            #expect(page.body.range(of: joined) != nil)

            let body = try TestJSON.parse(page.body)
            let wireItems = body["items"]?.elements ?? []
            try #require(wireItems.count == page.items.count)
            let truth = try TestJSON.parse(c.sim.truth())
            let truthApp = try #require(
                truth["apps"]?.elements.first { $0["app_id"]?.numberText == String(c.projects) })
            var truthFields: [Int: TestJSON] = [:]
            for item in truthApp["items"]?.elements ?? [] {
                if let id = item["item_id"]?.numberText.flatMap({ Int($0) }) { truthFields[id] = item["fields"] }
            }

            var seenTypes: Set<String> = []
            for (item, wire) in zip(page.items, wireItems) {
                #expect(try TestJSON.parse(item.raw) == wire)
                #expect(item.itemID == wire["item_id"]?.numberText.flatMap { Int($0) })
                #expect(item.title == wire["title"]?.string)
                #expect(item.revision == wire["current_revision"]?["revision"]?.numberText.flatMap { Int($0) })
                #expect(item.createdOn == wire["created_on"]?.string.flatMap(utcDate))
                #expect(item.lastEditOn == wire["current_revision"]?["created_on"]?.string.flatMap(utcDate))
                #expect(item.lastEventOn == wire["last_event_on"]?.string.flatMap(utcDate))
                // What the simulator holds: the same fields and values as `GET /item/{id}`, each
                // field's config trimmed (filter results carry no status and a short config).
                let truthItemFields = truthFields[item.itemID]?.elements ?? []
                try #require((wire["fields"]?.elements ?? []).count == truthItemFields.count)
                for (wireField, truthField) in zip(wire["fields"]?.elements ?? [], truthItemFields) {
                    for key in ["field_id", "external_id", "type", "label", "values"] {
                        #expect(wireField[key] == truthField[key], "\(key)")
                    }
                    #expect(wireField["status"] == nil)
                    #expect(wireField["config"]?["settings"] == truthField["config"]?["settings"])
                    #expect(wireField["config"]?["label"] == truthField["config"]?["label"])
                }

                // The engine hands the fields to PostgreSQL as received: the raw bytes above.
                seenTypes.formUnion((wire["fields"]?.elements ?? []).compactMap { $0["type"]?.string })
                if item.itemID == full {
                    #expect(Set((wire["fields"]?.elements ?? []).compactMap { $0["type"]?.string }) == activeTypes)
                    #expect(item.title == "Every \"field\" — Ünï 🚀")
                }
            }
            #expect(seenTypes == activeTypes)
        }
    }

    @Test func decimalsAreExact() throws {
        let posix = Locale(identifier: "en_US_POSIX")
        #expect(PodioTime.decimal("6513.5100") == Decimal(string: "6513.51", locale: posix))
        #expect(PodioTime.decimal("6513.5100") == Decimal(651_351) / 100)
        #expect(PodioTime.decimal("-0.5000") == Decimal(-5) / 10)
        #expect(PodioTime.decimal("0.0000") == 0)
        #expect(PodioTime.decimal("99999999999999.9999") == Decimal(string: "99999999999999.9999", locale: posix))
        #expect(PodioTime.decimal("0.1000")! + PodioTime.decimal("0.2000")! == PodioTime.decimal("0.3000"))
        for bad in ["", "abc", "1e5", "1,5", " 1", "1-2", "1.2.3", "--1", "-", ".", "1.", ".5"] {
            #expect(PodioTime.decimal(bad) == nil, "\(bad.debugDescription)")
        }
    }

    @Test func podioTimesAreUTC() throws {
        #expect(PodioTime.parse("2024-01-01 00:00:00") == Date(timeIntervalSince1970: 1_704_067_200))
        #expect(PodioTime.parse("2024-01-01") == Date(timeIntervalSince1970: 1_704_067_200))
        #expect(PodioTime.parse("2016-06-24 19:00:00") == utcDate("2016-06-24 19:00:00"))
        #expect(PodioTime.parse("2024-02-29 23:59:59") == utcDate("2024-02-29 23:59:59"))
        #expect(PodioTime.parse("1969-12-31 23:59:59") == Date(timeIntervalSince1970: -1))
        for bad in [
            "", "2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "2024-13-01", "2024-00-10", "2024-01-32",
            "2024-01-01 24:00:00", "2024-01-01 00:60:00", "2024/01/01", "2024-1-01", "2023-02-29", "2024-04-31",
        ] {
            #expect(PodioTime.parse(bad) == nil, "\(bad.debugDescription)")
        }
        let date = try #require(utcDate("2024-05-06 07:08:09"))
        #expect(PodioTime.format(date) == "2024-05-06 07:08:09")
        #expect(PodioTime.format(date.addingTimeInterval(0.999)) == "2024-05-06 07:08:09")
        #expect(PodioTime.parse(PodioTime.format(date)) == date)
    }

    @Test func appNamesAreHTMLDecoded() async throws {
        try await withClient { c in
            let leads = try await c.client.app(c.leads)
            #expect(leads.name == "Leads & Clients")
            #expect(String(decoding: leads.raw, as: UTF8.self).contains("Leads &amp; Clients"))  // raw stays as sent
            let hostileName = "Ops \"Q1\" \\ <Team> & 'Co'; DROP TABLE apps;-- Ünï 🚀"
            #expect(try await c.client.app(c.hostile).name == hostileName)
            let all = try await c.client.allApps()
            #expect(Set(all.map(\.name)) == ["Projects", "Leads & Clients", hostileName, "Archive"])
            let space = try #require(leads.spaceID)
            let inSpace = try await c.client.apps(spaceID: space)
            #expect(inSpace.map(\.name).contains("Leads & Clients"))
            let back = try #require(try await c.client.app(c.hostile).spaceID)
            let backApps = try await c.client.apps(spaceID: back)
            #expect(backApps.contains { $0.name == "Old Tasks" && $0.status == "inactive" })  // inactive included
            #expect(try await c.client.apps(spaceID: back, includeInactive: false).allSatisfy { $0.status == "active" })
        }
    }

    @Test func htmlEntities() {
        #expect(HTMLEntities.decode("Leads &amp; Clients") == "Leads & Clients")
        #expect(
            HTMLEntities.decode("&lt;b&gt; &quot;q&quot; &#39;a&#39; &#x27;b&#X27; &apos;") == "<b> \"q\" 'a' 'b' '")
        #expect(HTMLEntities.decode("&amp;lt;") == "&lt;")  // decoded once
        #expect(HTMLEntities.decode("AT&T; R&D & co &") == "AT&T; R&D & co &")
        #expect(HTMLEntities.decode("&#128640; &#x1F680;") == "🚀 🚀")
        #expect(HTMLEntities.decode("&#xD800; &#99999999;") == "&#xD800; &#99999999;")  // no such scalars
        #expect(HTMLEntities.decode("Ünï &nbsp;") == "Ünï \u{00A0}")
        #expect(HTMLEntities.decode("plain") == "plain")
    }

    @Test func malformedPagesNameTheEndpointAndNeverCrash() async throws {
        try await withClient { c in
            for fault in [PodioSimulator.Fault.invalidPage, .missingItems] {
                c.sim.resetStats()
                c.sim.injectFaults(fault, count: fastRetry.maxAttempts)
                let error = try #require(
                    await podioError {
                        try await c.client.filterItems(appID: c.projects, ItemFilter(limit: PageSize(clamping: 10)))
                    })
                #expect(error.kind == .retryable)
                #expect(error.status == 200)
                #expect(error.endpoint == PodioEndpoint.filterItems.name)
                #expect(error.description.contains("POST /item/app/{app_id}/filter/"), "\(error)")
                #expect(error.description.contains("not the JSON Podio sends"), "\(error)")
                if fault == .missingItems { #expect(error.description.contains("items"), "\(error)") }
                #expect(c.served("POST /item/app/{app_id}/filter/") == fastRetry.maxAttempts)
                // One bad page is retried away.
                c.sim.injectFaults(fault, count: 1)
                let page = try await c.client.filterItems(appID: c.projects, ItemFilter(limit: PageSize(clamping: 10)))
                #expect(page.items.count == 10)
            }
        }
    }

    @Test func singleItemMatchesTheSimulatorsTruth() async throws {
        try await withClient { c in
            let itemID = try c.sim.createItem(appID: c.projects, title: "Single")
            let item = try await c.client.item(itemID)
            #expect(item.itemID == itemID)
            #expect(item.title == "Single")
            let truth = try TestJSON.parse(c.sim.truth())
            let app = try #require(truth["apps"]?.elements.first { $0["app_id"]?.numberText == String(c.projects) })
            let expected = try #require(app["items"]?.elements.first { $0["item_id"]?.numberText == String(itemID) })
            #expect(try TestJSON.parse(item.raw) == expected)
            #expect(item.revision == 0)
            try c.sim.editItem(itemID: itemID, title: "Single, edited")
            let edited = try await c.client.item(itemID)
            #expect(edited.revision == 1)
            #expect(edited.title == "Single, edited")
            #expect(try await c.client.itemCount(appID: c.projects) == 41)
        }
    }
}
