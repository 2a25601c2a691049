import Foundation
import PodioSimulator
import Testing

@Suite("Dataset")
struct DatasetTests {
    @Test func sameSeedSameTruth() async throws {
        var first: [UInt8] = []
        try await withSimulator({
            $0.seed = 42; $0.items = 60
        }) { sim in
            first = try await sim.send(.GET, "/_sim/truth").body
        }
        var second: [UInt8] = []
        try await withSimulator({
            $0.seed = 42; $0.items = 60
        }) { sim in
            second = try await sim.send(.GET, "/_sim/truth").body
            #expect(Array(sim.simulator.truth()) == second)
        }
        #expect(!first.isEmpty)
        #expect(first == second)
        var other: [UInt8] = []
        try await withSimulator({
            $0.seed = 43; $0.items = 60
        }) { sim in
            other = try await sim.send(.GET, "/_sim/truth").body
        }
        #expect(other != first)
    }

    @Test func truthHasEveryAppAndLiveItemAsServed() async throws {
        try await withSimulator({ $0.items = 40 }) { sim in
            let truth = try #require(try JSONSerialization.jsonObject(with: sim.simulator.truth()) as? [String: Any])
            let apps = try #require(truth["apps"] as? [[String: Any]])
            #expect(apps.compactMap { $0["app_id"] as? Int } == sim.simulator.appIDs())
            #expect(apps.map { ($0["items"] as? [Any])?.count ?? -1 } == [40, 25, 12, 0, 5])
            #expect(apps.last?["status"] as? String == "inactive")
            let token = try await sim.userToken()
            let item = try #require((apps[0]["items"] as? [[String: Any]])?.first)
            let itemID = try #require(item["item_id"] as? Int)
            let served = try await sim.get("/item/\(itemID)", token: token)
            let servedObject = try #require(try JSONSerialization.jsonObject(with: Data(served.body)) as? NSDictionary)
            #expect(servedObject == item as NSDictionary)
            // Seeded times are before now.
            let now = podioTime(Date())
            for app in apps {
                for entry in app["items"] as? [[String: Any]] ?? [] {
                    #expect((entry["last_event_on"] as? String ?? "9") < now)
                }
            }
        }
    }

    @Test func customAppsAndFieldSets() async throws {
        try await withSimulator({ config in
            config.apps = [
                .init(name: "Only & One", urlLabel: "only-one", itemCount: 3, fields: .simple),
                .init(name: "Hostile", urlLabel: "hostile", itemCount: 2, fields: .hostile, status: "inactive"),
            ]
        }) { sim in
            #expect(sim.simulator.appIDs().count == 2)
            let token = try await sim.userToken()
            let spaces = try await sim.get("/org/", token: token).array.first?["spaces"] as? [[String: Any]] ?? []
            #expect(spaces.count == 2)
            #expect(
                try await sim.get("/item/app/\(sim.simulator.appIDs()[1])/count", token: token).object["count"] as? Int
                    == 2)
        }
    }

    @Test func wideFieldSet() async throws {
        try await withSimulator({ config in
            config.apps = [.init(name: "Wide", urlLabel: "wide", itemCount: 4, fields: .wide(fields: 100))]
        }) { sim in
            let appID = sim.projects
            let token = try await sim.userToken()
            let fields = try await sim.get("/app/\(appID)", token: token).object["fields"] as? [[String: Any]] ?? []
            #expect(fields.count == 100)
            let ids = fields.compactMap { $0["external_id"] as? String }
            #expect(Set(ids).count == 100)
            #expect(ids.first == "title")
            #expect(ids[1] == "number-001" && ids[99] == "day-099")
            let types = Set(fields.compactMap { $0["type"] as? String })
            #expect(types == ["text", "number", "money", "category", "date", "progress", "duration", "email"])
            // Items created through the control API have every field set.
            let itemID = try sim.simulator.createItem(appID: appID)
            let item = try await sim.get("/item/\(itemID)", token: token).object
            #expect((item["fields"] as? [Any])?.count == 100)
            #expect(throws: (any Error).self) {
                try sim.simulator.addApp(.init(name: "None", urlLabel: "none", itemCount: 0, fields: .wide(fields: 0)))
            }
        }
    }

    @Test func twoHundredThousandItemsServeA500ItemPage() async throws {
        try await withSimulator({ config in
            config.items = 200_000
            config.rateLimit = 0
            config.rateLimitGeneral = 0
        }) { sim in
            let token = try await sim.userToken()
            let page = try await sim.filter(
                sim.projects, ["limit": 500, "offset": 150_000, "sort_by": "item_id"], token: token)
            #expect(page.status == 200)
            #expect(page.object["total"] as? Int == 200_000)
            #expect(sim.items(page).count == 500)
            let recent = try await sim.filter(
                sim.projects, ["limit": 500, "sort_by": "last_edit_on", "sort_desc": true], token: token)
            #expect(sim.items(recent).count == 500)
            let count = try await sim.get("/item/app/\(sim.projects)/count", token: token)
            #expect(count.object["count"] as? Int == 200_000)
        }
    }
}
