import Foundation
import PodioSimulator
import Testing

@Suite("Item filter, count and item")
struct FilterTests {
    @Test func pagingLimits() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let app = sim.projects
            let page = try await sim.filter(app, [:], token: token)
            #expect(page.status == 200)
            #expect(sim.items(page).count == 30)
            #expect(page.object["total"] as? Int == 120)
            #expect(page.object["filtered"] as? Int == 120)
            let tooMany = try await sim.filter(app, ["limit": 501], token: token)
            #expect(tooMany.status == 400)
            #expect(tooMany.errorCode == "invalid_value")
            let stringLimit = try await sim.filter(app, ["limit": "500"], token: token)
            #expect(stringLimit.status == 400)
            #expect(stringLimit.errorCode == "invalid_value")
            let full = try await sim.filter(app, ["limit": 500], token: token)
            #expect(sim.items(full).count == 120)
            let offset = try await sim.filter(app, ["limit": 50, "offset": 100, "sort_by": "item_id"], token: token)
            #expect(sim.items(offset).count == 20)
            let badSort = try await sim.filter(app, ["sort_by": "rating"], token: token)
            #expect(badSort.status == 400)
            let stringBool = try await sim.filter(app, ["sort_desc": "true"], token: token)
            #expect(stringBool.status == 400)
            let emptyArray = try await sim.send(
                .POST, "/item/app/\(app)/filter/",
                headers: [("Authorization", "OAuth2 \(token)")], body: Array("[]".utf8))
            #expect(sim.items(emptyArray).count == 30)
            let noBody = try await sim.send(
                .POST, "/item/app/\(app)/filter/", headers: [("Authorization", "OAuth2 \(token)")])
            #expect(noBody.status == 404)
            let count = try await sim.get("/item/app/\(app)/count", token: token)
            #expect(count.object["count"] as? Int == 120)
            #expect(count.header("X-Rate-Limit-Limit") == "250")
            let unknown = try await sim.filter(999, ["limit": 1], token: token)
            #expect(unknown.status == 404)
        }
    }

    @Test func sortingIsStableWithTiesByItemID() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let app = sim.projects
            let ascending = sim.items(try await sim.filter(app, ["limit": 500, "sort_by": "item_id"], token: token))
            let ids = ascending.compactMap { $0["item_id"] as? Int }
            #expect(ids == ids.sorted())
            let descending = sim.items(
                try await sim.filter(app, ["limit": 500, "sort_by": "item_id", "sort_desc": true], token: token))
            #expect(descending.compactMap { $0["item_id"] as? Int } == ids.reversed())
            for desc in [false, true] {
                let items = sim.items(
                    try await sim.filter(app, ["limit": 500, "sort_by": "created_on", "sort_desc": desc], token: token))
                let keys = items.map { ($0["created_on"] as? String ?? "", $0["item_id"] as? Int ?? 0) }
                for (a, b) in zip(keys, keys.dropFirst()) {
                    if a.0 == b.0 {
                        #expect(a.1 < b.1, "tie not broken by item_id ascending")
                    } else {
                        #expect(desc ? a.0 > b.0 : a.0 < b.0)
                    }
                }
                #expect(keys.count == 120)
            }
            let byEdit = sim.items(try await sim.filter(app, ["limit": 500, "sort_by": "last_edit_on"], token: token))
            let edits = byEdit.compactMap { ($0["current_revision"] as? [String: Any])?["created_on"] as? String }
            #expect(edits == edits.sorted())
        }
    }

    @Test func lastEditOnRangeIsInclusive() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let app = sim.projects
            let all = sim.items(try await sim.filter(app, ["limit": 500, "sort_by": "item_id"], token: token))
            let edits = all.compactMap { ($0["current_revision"] as? [String: Any])?["created_on"] as? String }
            let target = edits[edits.count / 2]
            let exact = try await sim.filter(
                app, ["filters": ["last_edit_on": ["from": target, "to": target]], "limit": 500], token: token)
            #expect(exact.status == 200)
            let expected = edits.filter { $0 == target }.count
            #expect(exact.object["filtered"] as? Int == expected)
            #expect(exact.object["total"] as? Int == 120)
            for item in sim.items(exact) {
                #expect((item["current_revision"] as? [String: Any])?["created_on"] as? String == target)
            }
            // A date-only `to` includes the whole day.
            let day = String(target.prefix(10))
            let dayOnly = try await sim.filter(
                app, ["filters": ["last_edit_on": ["from": day, "to": day]], "limit": 500], token: token)
            #expect(dayOnly.object["filtered"] as? Int == edits.filter { $0.hasPrefix(day) }.count)
            let from = try await sim.filter(
                app, ["filters": ["last_edit_on": ["from": target]], "limit": 500], token: token)
            #expect(from.object["filtered"] as? Int == edits.filter { $0 >= target }.count)
            let created = try await sim.filter(
                app, ["filters": ["created_on": ["to": "2024-01-31"]], "limit": 500], token: token)
            let createdOn = all.compactMap { $0["created_on"] as? String }
            #expect(created.object["filtered"] as? Int == createdOn.filter { $0 <= "2024-01-31 23:59:59" }.count)
            let badDate = try await sim.filter(app, ["filters": ["last_edit_on": ["from": "2024-13-01"]]], token: token)
            #expect(badDate.status == 400)
        }
    }

    @Test func shortFullAndMicroViews() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let app = sim.projects
            let item = try #require(sim.items(try await sim.filter(app, ["limit": 1], token: token)).first)
            let shortKeys: Set<String> = [
                "item_id", "app_item_id", "app_item_id_formatted", "external_id", "title", "link", "initial_revision",
                "current_revision", "created_on", "created_by", "created_via", "last_event_on", "comment_count",
                "file_count", "tags", "rights", "fields", "revision",
            ]
            #expect(Set(item.keys) == shortKeys)
            #expect(item["last_edit_on"] == nil)
            let current = try #require(item["current_revision"] as? [String: Any])
            #expect(Set(current.keys) == ["revision", "item_revision_id", "type", "created_on", "created_by"])
            // A top-level revision beside current_revision, as in real captures of filter results.
            #expect(item["revision"] as? Int == current["revision"] as? Int)

            let itemID = try #require(item["item_id"] as? Int)
            let full = try await sim.get("/item/\(itemID)?mark_as_viewed=false", token: token)
            #expect(full.status == 200)
            #expect(full.header("X-Rate-Limit-Limit") == "1000")
            let body = full.object
            #expect(body["revision"] as? Int == current["revision"] as? Int)
            for key in ["app", "files", "comments", "revisions"] { #expect(body[key] != nil, "missing \(key)") }
            #expect(try await sim.get("/item/\(itemID)?mark_as_viewed=maybe", token: token).status == 400)
            #expect(try await sim.get("/item/1", token: token).status == 404)

            let micro = sim.items(
                try await sim.filter(app, ["limit": 3], token: token, query: "?fields=items.view(micro)"))
            #expect(micro.count == 3)
            for entry in micro {
                #expect(Set(entry.keys) == ["item_id", "app_item_id", "title", "link", "revision"])
            }
        }
    }

    @Test func orgsSpacesAndAppListings() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let orgs = try await sim.get("/org/", token: token).array
            #expect(orgs.count == 1)
            let spaces = try #require(orgs.first?["spaces"] as? [[String: Any]])
            #expect(spaces.count == 2)
            let orgID = try #require(orgs.first?["org_id"] as? Int)
            #expect(try await sim.get("/org/\(orgID)/space/", token: token).array.count == 2)
            let spaceID = try #require(spaces.last?["space_id"] as? Int)
            #expect(try await sim.get("/space/\(spaceID)", token: token).object["space_id"] as? Int == spaceID)
            let active = try await sim.get("/app/space/\(spaceID)/", token: token).array
            let all = try await sim.get("/app/space/\(spaceID)/?include_inactive=1", token: token).array
            #expect(all.count == active.count + 1)
            #expect(all.contains { $0["status"] as? String == "inactive" })
            #expect(try await sim.get("/app/space/\(spaceID)/?include_inactive=yes", token: token).status == 400)
            #expect(
                try await sim.get("/app/space/\(spaceID)/?include_inactive=true", token: token).array.count == all.count
            )
            #expect(try await sim.get("/app/v2/", token: token).array.count == 4)
            #expect(try await sim.get("/app/v2/?limit=10", token: token).array.count == 4)
            #expect(try await sim.get("/app/", token: token).array.count == 4)
            let leads = try await sim.get("/app/\(sim.simulator.appIDs()[1])", token: token).object
            #expect((leads["config"] as? [String: Any])?["name"] as? String == "Leads &amp; Clients")
            #expect(leads["url_label"] as? String == "leads-clients")
            let items =
                try await sim.get("/item/app/\(sim.simulator.appIDs()[1])/count", token: token).object["count"] as? Int
            #expect(items == 25)
            #expect(
                try await sim.get("/item/app/\(sim.simulator.appIDs()[3])/count", token: token).object["count"] as? Int
                    == 0)
        }
    }

    /// `GET /app/` is undocumented; told to, the simulator serves only part of the apps there,
    /// while the documented walk (orgs, their spaces, each space's apps) still lists every app.
    @Test func appListLimitCutsOnlyTheUndocumentedListing() async throws {
        try await withSimulator({ $0.appListLimit = 2 }) { sim in
            let token = try await sim.userToken()
            #expect(try await sim.get("/app/", token: token).array.count == 2)
            var walked: [Int] = []
            for org in try await sim.get("/org/", token: token).array {
                for space in org["spaces"] as? [[String: Any]] ?? [] {
                    let spaceID = try #require(space["space_id"] as? Int)
                    walked += try await sim.get("/app/space/\(spaceID)/?include_inactive=1", token: token).array
                        .compactMap { $0["app_id"] as? Int }
                }
            }
            #expect(walked.sorted() == sim.simulator.appIDs().sorted())
        }
    }
}
