import Foundation
import PodioSimulator
import Testing

@Suite("Edits, comments, deletes and schema changes")
struct MutationTests {
    @Test func editGrowsRevisionCommentDoesNot() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let app = sim.projects
            let itemID = try #require(
                sim.items(try await sim.filter(app, ["limit": 1, "sort_by": "item_id"], token: token))
                    .first?["item_id"] as? Int)
            let before = try await sim.get("/item/\(itemID)", token: token).object
            let revision = try #require(before["revision"] as? Int)
            let start = podioTime(Date().addingTimeInterval(-1))

            try sim.simulator.editItem(itemID: itemID, title: "Edited ✓ \"title\"")
            let after = try await sim.get("/item/\(itemID)", token: token).object
            #expect(after["revision"] as? Int == revision + 1)
            #expect(after["title"] as? String == "Edited ✓ \"title\"")
            let current = try #require(after["current_revision"] as? [String: Any])
            #expect(current["revision"] as? Int == revision + 1)
            let editedOn = try #require(current["created_on"] as? String)
            #expect(editedOn >= start)
            let beforeValues = (before["fields"] as? [[String: Any]] ?? []).filter {
                $0["external_id"] as? String != "title"
            }
            let afterValues = (after["fields"] as? [[String: Any]] ?? []).filter {
                $0["external_id"] as? String != "title"
            }
            #expect(
                NSArray(array: beforeValues) != NSArray(array: afterValues), "an edit changes at least one other value")

            let recent = try await sim.filter(
                app, ["filters": ["last_edit_on": ["from": start]], "sort_by": "last_edit_on"], token: token)
            #expect(sim.items(recent).compactMap { $0["item_id"] as? Int } == [itemID])

            try sim.simulator.comment(itemID: itemID)
            let commented = try await sim.get("/item/\(itemID)", token: token).object
            #expect(commented["revision"] as? Int == revision + 1)
            #expect(commented["comment_count"] as? Int == (after["comment_count"] as? Int ?? 0) + 1)
            #expect((commented["last_event_on"] as? String ?? "") >= editedOn)
            #expect((commented["current_revision"] as? [String: Any])?["created_on"] as? String == editedOn)

            // Over HTTP too.
            #expect(try await sim.json("/_sim/items/\(itemID)/edit", [:] as [String: Any]).status == 204)
            #expect(try await sim.get("/item/\(itemID)", token: token).object["revision"] as? Int == revision + 2)
            #expect(try await sim.json("/_sim/items/\(itemID)/comment", [:] as [String: Any]).status == 200)
        }
    }

    @Test func commentsAreServedAndChangeOnlyTheActivity() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let page = sim.items(try await sim.filter(sim.projects, ["limit": 1, "sort_by": "item_id"], token: token))
            let itemID = try #require(page.first?["item_id"] as? Int)
            let before = try await sim.get("/item/\(itemID)", token: token).object
            let count = before["comment_count"] as? Int ?? 0
            // Over HTTP: a comment made, its id returned.
            let made = try await sim.json("/_sim/items/\(itemID)/comment", ["text": "Hello <world>"] as [String: Any])
            #expect(made.status == 200)
            let commentID = try #require(made.object["comment_id"] as? Int)
            let listed = try await sim.get("/comment/item/\(itemID)/", token: token)
            #expect(listed.status == 200)
            let comments = try #require(try JSONSerialization.jsonObject(with: Data(listed.body)) as? [[String: Any]])
            #expect(comments.count == count + 1)
            let last = try #require(comments.last)
            #expect(last["comment_id"] as? Int == commentID)
            #expect(last["value"] as? String == "Hello <world>")
            #expect(last["rich_value"] as? String == "Hello &lt;world&gt;")
            #expect((last["created_by"] as? [String: Any])?["type"] as? String == "user")
            #expect((last["ref"] as? [String: Any])?["id"] as? Int == itemID)
            #expect(listed.header("X-Rate-Limit-Limit") != nil)
            // Paged.
            let paged = try await sim.get("/comment/item/\(itemID)/?limit=1&offset=\(count)", token: token)
            #expect((try JSONSerialization.jsonObject(with: Data(paged.body)) as? [[String: Any]])?.count == 1)
            #expect(try await sim.get("/comment/item/\(itemID)/?limit=0", token: token).status == 400)
            // Edit and delete over HTTP: comment_count follows, the revision does not move.
            #expect(
                try await sim.json("/_sim/comments/\(commentID)", ["text": "Changed"] as [String: Any], method: .PUT)
                    .status == 204)
            #expect(sim.simulator.comments(itemID: itemID).last?.text == "Changed")
            #expect(try await sim.send(.DELETE, "/_sim/comments/\(commentID)").status == 204)
            let after = try await sim.get("/item/\(itemID)", token: token).object
            #expect(after["comment_count"] as? Int == count)
            #expect(after["revision"] as? Int == before["revision"] as? Int)
            #expect((after["last_event_on"] as? String ?? "") >= (before["last_event_on"] as? String ?? ""))
            #expect(sim.simulator.comments(itemID: itemID).count == count)
            // Files: attached and removed without a revision; in the filter only when asked.
            let fileID = try sim.simulator.attachFile(itemID: itemID, name: "a.pdf", size: 10)
            let full = try await sim.get("/item/\(itemID)", token: token).object
            #expect(full["file_count"] as? Int == 1)
            #expect((full["files"] as? [[String: Any]])?.first?["file_id"] as? Int == fileID)
            #expect(full["revision"] as? Int == before["revision"] as? Int)
            let plain = sim.items(try await sim.filter(sim.projects, ["limit": 1, "sort_by": "item_id"], token: token))
            #expect(plain.first?["files"] == nil)
            let withFiles = sim.items(
                try await sim.filter(
                    sim.projects, ["limit": 1, "sort_by": "item_id"], token: token, query: "?fields=items.fields(files)"
                ))
            #expect((withFiles.first?["files"] as? [[String: Any]])?.count == 1)
            try sim.simulator.removeFile(fileID: fileID)
            #expect(try await sim.get("/item/\(itemID)", token: token).object["file_count"] as? Int == 0)
        }
    }

    @Test func deletedItemIsGoneAndCountsDrop() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let app = sim.projects
            let first = sim.items(try await sim.filter(app, ["limit": 2, "sort_by": "item_id"], token: token))
            let victim = try #require(first.first?["item_id"] as? Int)
            let second = try #require(first.last?["item_id"] as? Int)
            try sim.simulator.deleteItem(itemID: victim)
            let gone = try await sim.get("/item/\(victim)", token: token)
            #expect(gone.status == 410)
            #expect(gone.errorCode == "gone")
            #expect(try await sim.get("/item/\(victim + 10_000_000)", token: token).status == 404)
            #expect(try await sim.get("/item/app/\(app)/count", token: token).object["count"] as? Int == 119)
            let page = try await sim.filter(app, ["limit": 500], token: token)
            #expect(page.object["total"] as? Int == 119)
            #expect(!sim.items(page).contains { $0["item_id"] as? Int == victim })
            #expect(try await sim.send(.DELETE, "/_sim/items/\(second)").status == 204)
            #expect(try await sim.send(.DELETE, "/_sim/items/\(second)").status == 410)
            let truth = try JSONSerialization.jsonObject(with: sim.simulator.truth()) as? [String: Any]
            #expect(truth?["deleted_item_ids"] as? [Int] == [victim, second])
        }
    }

    @Test func fieldChangesShowInAppDefinition() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let app = sim.projects
            let before = try await sim.get("/app/\(app)", token: token).object
            let revision = try #require(before["current_revision"] as? Int)
            let fields = try #require(before["fields"] as? [[String: Any]])
            let amount = try #require(fields.first { $0["external_id"] as? String == "amount" }?["field_id"] as? Int)

            try sim.simulator.deleteField(appID: app, fieldID: amount)
            let after = try await sim.get("/app/\(app)", token: token).object
            #expect(after["current_revision"] as? Int == revision + 1)
            let deleted = (after["fields"] as? [[String: Any]])?.first { $0["field_id"] as? Int == amount }
            #expect(deleted?["status"] as? String == "deleted")
            let items = sim.items(try await sim.filter(app, ["limit": 500], token: token))
            #expect(
                !items.contains {
                    ($0["fields"] as? [[String: Any]] ?? []).contains { $0["field_id"] as? Int == amount }
                })

            let added = try sim.simulator.addField(appID: app, type: "number", label: "Score", externalID: "score")
            let option = try sim.simulator.addCategoryOption(
                appID: app,
                fieldID: try #require(
                    fields.first { $0["external_id"] as? String == "status" }?["field_id"] as? Int), text: "New option")
            #expect(option == 6)
            try sim.simulator.renameField(appID: app, fieldID: added, label: "Score (renamed)", externalID: "score-2")
            let third = try await sim.get("/app/\(app)", token: token).object
            #expect(third["current_revision"] as? Int == revision + 4)
            let score = (third["fields"] as? [[String: Any]])?.first { $0["field_id"] as? Int == added }
            #expect(score?["label"] as? String == "Score (renamed)")
            #expect(score?["external_id"] as? String == "score-2")

            // New items get a value in every active field, the new one included.
            let created = try sim.simulator.createItem(appID: app, title: "Fresh")
            let fresh = try await sim.get("/item/\(created)", token: token).object
            let freshFields = fresh["fields"] as? [[String: Any]] ?? []
            #expect(freshFields.contains { $0["field_id"] as? Int == added })
            #expect(fresh["revision"] as? Int == 0)

            let viaHTTP = try await sim.json(
                "/_sim/apps/\(app)/fields", ["type": "text", "label": "Via HTTP", "external_id": "via-http"])
            let fieldID = try #require(viaHTTP.object["field_id"] as? Int)
            #expect(try await sim.send(.DELETE, "/_sim/apps/\(app)/fields/\(fieldID)").status == 204)

            try sim.simulator.clearField(itemID: created, fieldID: added)
            let cleared = try await sim.get("/item/\(created)", token: token).object
            #expect(cleared["revision"] as? Int == 1)
            #expect(!(cleared["fields"] as? [[String: Any]] ?? []).contains { $0["field_id"] as? Int == added })
        }
    }

    @Test func controlAPICreatesItemsAndApps() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let made = try await sim.json("/_sim/items", ["app_id": sim.projects, "count": 3])
            #expect((made.object["item_ids"] as? [Int])?.count == 3)
            let titled = try await sim.json("/_sim/items", ["app_id": sim.projects, "title": "Hello"])
            let itemID = try #require((titled.object["item_ids"] as? [Int])?.first)
            #expect(try await sim.get("/item/\(itemID)", token: token).object["title"] as? String == "Hello")
            #expect(try await sim.get("/item/app/\(sim.projects)/count", token: token).object["count"] as? Int == 124)

            let app = try await sim.json(
                "/_sim/apps", ["name": "Simple & Co", "url_label": "simple-co", "item_count": 7, "fields": "simple"])
            let appID = try #require(app.object["app_id"] as? Int)
            let listed = try await sim.send(.GET, "/_sim/apps").array
            let entry = try #require(listed.first { $0["app_id"] as? Int == appID })
            #expect(entry["item_count"] as? Int == 7)
            #expect(entry["app_token"] as? String == sim.simulator.appToken(appID: appID))
            let definition = try await sim.get("/app/\(appID)", token: token).object
            #expect((definition["fields"] as? [Any])?.count == 3)
            #expect(try await sim.json("/_sim/items", ["app_id": 1]).status == 404)
        }
    }
}
