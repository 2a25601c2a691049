import Foundation
import PodioSimulator
import Testing

@Suite("Item revisions and their differences")
struct RevisionTests {
    /// The values of each field of a full item, by field id.
    static func values(_ item: [String: Any]) -> [Int: NSArray] {
        var out: [Int: NSArray] = [:]
        for field in item["fields"] as? [[String: Any]] ?? [] {
            if let id = field["field_id"] as? Int { out[id] = NSArray(array: field["values"] as? [Any] ?? []) }
        }
        return out
    }

    /// The diff a client should expect between two full views of the item: the fields whose
    /// values differ, with the values on each side (`[]` for none).
    static func expectedDiff(_ before: [String: Any], _ after: [String: Any]) -> [Int: (NSArray, NSArray)] {
        let old = values(before)
        let new = values(after)
        var out: [Int: (NSArray, NSArray)] = [:]
        for id in Set(old.keys).union(new.keys) {
            let from = old[id] ?? NSArray()
            let to = new[id] ?? NSArray()
            if from != to { out[id] = (from, to) }
        }
        return out
    }

    static func diffByField(_ reply: Reply) -> [Int: (NSArray, NSArray)] {
        var out: [Int: (NSArray, NSArray)] = [:]
        for entry in reply.array {
            guard let id = entry["field_id"] as? Int else { continue }
            out[id] = (NSArray(array: entry["from"] as? [Any] ?? []), NSArray(array: entry["to"] as? [Any] ?? []))
        }
        return out
    }

    @Test func revisionsAreListedInPodiosShape() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let page = sim.items(
                try await sim.filter(sim.projects, ["limit": 200, "sort_by": "item_id"], token: token))
            let edited = try #require(page.first { ($0["revision"] as? Int ?? 0) >= 2 })
            let itemID = try #require(edited["item_id"] as? Int)
            let current = try #require(edited["current_revision"] as? [String: Any])
            let revision = try #require(edited["revision"] as? Int)

            sim.simulator.resetStats()
            let listed = try await sim.get("/item/\(itemID)/revision/", token: token)
            #expect(listed.status == 200)
            let revisions = listed.array
            #expect(revisions.map { $0["revision"] as? Int } == Array(0...revision))
            #expect(
                revisions.map { $0["type"] as? String } == ["creation"] + Array(repeating: "update", count: revision))
            let ids = revisions.compactMap { $0["item_revision_id"] as? Int }
            #expect(ids == ids.sorted() && Set(ids).count == revision + 1)
            #expect(ids.last == current["item_revision_id"] as? Int)
            let times = revisions.compactMap { $0["created_on"] as? String }
            #expect(times == times.sorted() && times.count == revision + 1)
            #expect(times.last == current["created_on"] as? String)
            #expect(times.first == (edited["initial_revision"] as? [String: Any])?["created_on"] as? String)
            for entry in revisions {
                #expect(entry["app_revision"] is Int)
                #expect((entry["created_by"] as? [String: Any])?["type"] as? String == "user")
                #expect(entry["created_via"] is [String: Any])
            }
            // One revision alone, the same object.
            let one = try await sim.get("/item/\(itemID)/revision/1", token: token)
            #expect(one.status == 200)
            #expect(NSDictionary(dictionary: one.object) == NSDictionary(dictionary: revisions[1]))
            // Seeded revisions had values of their own: a diff between two of them is not empty,
            // and every entry carries Podio's keys.
            let diff = try await sim.get("/item/\(itemID)/revision/0/1", token: token)
            #expect(diff.status == 200)
            #expect(!diff.array.isEmpty)
            for entry in diff.array {
                for key in ["field_id", "type", "external_id", "label", "config", "from", "to"] {
                    #expect(entry[key] != nil, "\(key)")
                }
            }
            // Counted on the general tier.
            let stats = sim.simulator.stats()
            #expect(stats.callsByTier["general"] == 3)
            #expect(stats.callsByEndpoint["GET /item/{item_id}/revision/"] == 1)
            #expect(stats.callsByEndpoint["GET /item/{item_id}/revision/{revision}"] == 1)
            #expect(stats.callsByEndpoint["GET /item/{item_id}/revision/{revision_from}/{revision_to}"] == 1)

            // Strict answers: a revision past the current one, a reversed pair, a deleted item.
            #expect(try await sim.get("/item/\(itemID)/revision/\(revision + 1)", token: token).status == 404)
            #expect(try await sim.get("/item/\(itemID)/revision/0/\(revision + 1)", token: token).status == 404)
            #expect(try await sim.get("/item/\(itemID)/revision/1/0", token: token).status == 400)
            #expect(try await sim.get("/item/\(itemID)/revision/1/1", token: token).status == 400)
            #expect(try await sim.get("/item/999/revision/", token: token).status == 404)
            try sim.simulator.deleteItem(itemID: itemID)
            #expect(try await sim.get("/item/\(itemID)/revision/", token: token).status == 410)
        }
    }

    @Test func editsKeepEachRevisionsValuesSoTheDiffIsTrue() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let itemID = try sim.simulator.createItem(appID: sim.projects, title: "First")
            let created = try await sim.get("/item/\(itemID)", token: token).object
            #expect(try await sim.get("/item/\(itemID)/revision/", token: token).array.count == 1)

            try sim.simulator.editItem(itemID: itemID, title: "Second")
            let edited = try await sim.get("/item/\(itemID)", token: token).object
            let statusField = try #require(
                (edited["fields"] as? [[String: Any]])?.first { $0["external_id"] as? String == "status" }?["field_id"]
                    as? Int)
            try sim.simulator.clearField(itemID: itemID, fieldID: statusField)
            let cleared = try await sim.get("/item/\(itemID)", token: token).object
            // A bulk edit (editItems) keeps the revision it replaces too.
            try sim.simulator.editItems([itemID], title: "Third")
            let third = try await sim.get("/item/\(itemID)", token: token).object

            let listed = try await sim.get("/item/\(itemID)/revision/", token: token).array
            #expect(listed.map { $0["revision"] as? Int } == [0, 1, 2, 3])
            #expect(
                listed.last?["item_revision_id"] as? Int == (third["current_revision"] as? [String: Any])?[
                    "item_revision_id"] as? Int)

            let states = [created, edited, cleared, third]
            for (from, to) in [(0, 1), (1, 2), (2, 3), (0, 3), (1, 3)] {
                let reply = try await sim.get("/item/\(itemID)/revision/\(from)/\(to)", token: token)
                #expect(reply.status == 200)
                let got = Self.diffByField(reply)
                let want = Self.expectedDiff(states[from], states[to])
                #expect(Set(got.keys) == Set(want.keys), "\(from)→\(to)")
                for (id, pair) in want {
                    #expect(got[id]?.0 == pair.0 && got[id]?.1 == pair.1, "\(from)→\(to) field \(id)")
                }
            }
            // The title's change reads as Podio's text values; the cleared field's `to` is empty.
            let first = Self.diffByField(try await sim.get("/item/\(itemID)/revision/0/1", token: token))
            let titleID = try #require(
                (created["fields"] as? [[String: Any]])?.first { $0["external_id"] as? String == "title" }?["field_id"]
                    as? Int)
            #expect((first[titleID]?.0.firstObject as? [String: Any])?["value"] as? String == "First")
            #expect((first[titleID]?.1.firstObject as? [String: Any])?["value"] as? String == "Second")
            let clearing = Self.diffByField(try await sim.get("/item/\(itemID)/revision/1/2", token: token))
            #expect(clearing.keys.sorted() == [statusField])
            #expect(clearing[statusField]?.1.count == 0)

            // The truth accessor for tests agrees.
            let truth = sim.simulator.revisionTruth(itemID: itemID)
            #expect(truth.map(\.revision) == [0, 1, 2, 3])
            #expect(truth[0].values["title"]?.contains("First") == true)
            #expect(truth[2].values["status"] == nil)
        }
    }
}
