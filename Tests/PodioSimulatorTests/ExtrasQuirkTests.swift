import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PodioSimulator
import Testing

/// The simulator's inconvenient readings of comments and file downloads, and faults for one path,
/// set through the control API as a client in another process would.
@Suite("Quirks of comments and files, faults for one path")
struct ExtrasQuirkTests {
    /// An item of the first app and 12 comments on it (oldest first).
    static func commented(_ sim: SimHarness) throws -> (itemID: Int, comments: [Int]) {
        let truth = try JSONSerialization.jsonObject(with: sim.simulator.truth()) as? [String: Any]
        let items = (truth?["apps"] as? [[String: Any]])?.first?["items"] as? [[String: Any]] ?? []
        let itemID = try #require(items.compactMap { $0["item_id"] as? Int }.min())
        for n in 0..<12 { _ = try sim.simulator.comment(itemID: itemID, text: "n\(n)") }
        return (itemID, sim.simulator.comments(itemID: itemID).map(\.id))
    }

    static func ids(_ reply: Reply) -> [Int] { reply.array.compactMap { $0["comment_id"] as? Int } }

    @Test func commentsIgnoringOffsetAndCappedPages() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let (itemID, all) = try Self.commented(sim)
            let path = "/comment/item/\(itemID)/"
            #expect(Self.ids(try await sim.get(path + "?limit=5&offset=5", token: token)) == Array(all[5..<10]))

            #expect(try await sim.json("/_sim/quirks", ["comments_ignore_offset": true]).status == 204)
            #expect(Self.ids(try await sim.get(path + "?limit=5&offset=5", token: token)) == Array(all[0..<5]))

            #expect(try await sim.json("/_sim/quirks", ["comment_page_cap": 3]).status == 204)
            #expect(Self.ids(try await sim.get(path + "?limit=100&offset=3", token: token)) == Array(all[3..<6]))

            #expect(try await sim.json("/_sim/quirks", [String: Any]()).status == 204)
            #expect(Self.ids(try await sim.get(path + "?limit=100", token: token)) == all)
        }
    }

    @Test func downloadsRedirectWhenAskedOrWhenHostedElsewhere() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let (itemID, _) = try Self.commented(sim)
            let own = try sim.simulator.attachFile(itemID: itemID, name: "a.pdf", size: 10)
            let linked = try sim.simulator.attachFile(itemID: itemID, name: "b.gdoc", size: 10, hostedBy: "google")
            var configuration = HTTPClient.Configuration()
            configuration.redirectConfiguration = .disallow
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            do {
                func raw(_ id: Int) async throws -> Reply {
                    try await sim.send(
                        .GET, "/file/\(id)/raw", headers: [("Authorization", "OAuth2 \(token)")], client: client)
                }
                #expect(try await raw(own).status == 200)
                let elsewhere = try await raw(linked)
                #expect(elsewhere.status == 302)
                #expect(elsewhere.header("Location") == "https://google.example.com/files/\(linked)")
                let item = try await sim.get("/item/\(itemID)", token: token)
                let files = item.object["files"] as? [[String: Any]] ?? []
                #expect(files.first { $0["file_id"] as? Int == linked }?["hosted_by"] as? String == "google")

                #expect(try await sim.json("/_sim/quirks", ["file_raw_redirect": true]).status == 204)
                let redirected = try await raw(own)
                #expect(redirected.status == 302)
                #expect(redirected.header("Location") == "https://files.podio.com/\(own)")
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }

    @Test func aFaultForOnePathLeavesTheOthersServed() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let (itemID, _) = try Self.commented(sim)
            let other = itemID + 1
            let body: [String: Any] = ["kind": "server_error", "rate": 1, "path": "/comment/item/\(itemID)/"]
            #expect(try await sim.json("/_sim/faults", body).status == 204)
            for _ in 0..<3 {
                #expect([500, 502, 503].contains(try await sim.get("/comment/item/\(itemID)/", token: token).status))
                #expect(try await sim.get("/comment/item/\(other)/", token: token).status == 200)
            }
            #expect(try await sim.send(.DELETE, "/_sim/faults").status == 204)
            #expect(try await sim.get("/comment/item/\(itemID)/", token: token).status == 200)
        }
    }
}
