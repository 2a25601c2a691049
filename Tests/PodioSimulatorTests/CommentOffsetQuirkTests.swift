import Foundation
import PodioSimulator
import Testing

@Suite("The comments_ignore_offset quirk")
struct CommentOffsetQuirkTests {
    @Test func offsetIsCheckedButIgnoredWhileTheQuirkIsOn() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let itemID = try #require(
                sim.items(try await sim.filter(sim.projects, ["limit": 1, "sort_by": "item_id"], token: token))
                    .first?["item_id"] as? Int)
            for _ in 0..<2 { _ = try sim.simulator.comment(itemID: itemID) }
            func firstID(offset: Int) async throws -> Int? {
                let reply = try await sim.get("/comment/item/\(itemID)/?limit=1&offset=\(offset)", token: token)
                let comments = try JSONSerialization.jsonObject(with: Data(reply.body)) as? [[String: Any]]
                return comments?.first?["comment_id"] as? Int
            }
            let honoured = (try await firstID(offset: 0), try await firstID(offset: 1))
            #expect(honoured.0 != nil && honoured.0 != honoured.1)
            #expect(try await sim.json("/_sim/quirks", ["comments_ignore_offset": true]).status == 204)
            #expect(try await firstID(offset: 1) == honoured.0)
            #expect(try await sim.get("/comment/item/\(itemID)/?offset=-1", token: token).status == 400)
            #expect(try await sim.json("/_sim/quirks", [String: Any]()).status == 204)
            #expect(try await firstID(offset: 1) == honoured.1)
        }
    }
}
