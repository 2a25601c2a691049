import Foundation
import PodioSimulator
import Testing

@Suite("Webhooks: the hook API and deliveries")
struct HookTests {
    @Test func createVerifyValidateMakesTheHookActive() async throws {
        try await withHookBench { bench in
            let reply = try await bench.create("item.create")
            #expect(reply.status == 200)
            let hookID = try #require(reply.object["hook_id"] as? Int)
            #expect(bench.sim.simulator.stats().callsByEndpoint["POST /hook/app/{app_id}/"] == 1)

            let listed = try await bench.sim.get("/hook/app/\(bench.app)/", token: bench.token)
            #expect(listed.status == 200)
            let entry = try #require(listed.array.first)
            #expect(entry["hook_id"] as? Int == hookID)
            #expect(entry["status"] as? String == "inactive")
            #expect(entry["type"] as? String == "item.create")
            #expect(entry["url"] as? String == bench.receiver.url + "/hook")
            #expect(
                entry["created_on"] is String && entry["created_by"] is [String: Any]
                    && entry["created_via"] is [String: Any])

            let posts = try await bench.receiver.wait { !$0.isEmpty }
            let verify = try #require(posts.first)
            #expect(verify.type == "hook.verify")
            #expect(verify.value("hook_id") == String(hookID))
            #expect(verify.contentType == "application/x-www-form-urlencoded")
            let code = try #require(verify.value("code"))

            let wrong = try await bench.sim.json(
                "/hook/\(hookID)/verify/validate", ["code": code + "x"], token: bench.token)
            #expect(wrong.status == 400)
            #expect(wrong.errorCode == "invalid_value")
            #expect(bench.info(hookID)?.status == "inactive")

            // An inactive hook delivers nothing.
            try bench.sim.simulator.createItem(appID: bench.app)
            #expect(bench.outcomes == 0)

            let right = try await bench.sim.json("/hook/\(hookID)/verify/validate", ["code": code], token: bench.token)
            #expect(right.status == 204)
            let after = try await bench.sim.get("/hook/app/\(bench.app)/", token: bench.token)
            #expect(after.array.first?["status"] as? String == "active")
        }
    }

    @Test func verifyRequestSendsANewCodeAndOnlyTheLatestValidates() async throws {
        try await withHookBench { bench in
            let hookID = try #require(try await bench.create("item.update").object["hook_id"] as? Int)
            try await bench.receiver.wait { $0.count == 1 }
            #expect(
                try await bench.sim.json("/hook/\(hookID)/verify/request", [:] as [String: Any], token: bench.token)
                    .status == 204)
            let posts = try await bench.receiver.wait { $0.count == 2 }
            #expect(posts.count == 2)
            let first = try #require(posts.first?.value("code"))
            let second = try #require(posts.last?.value("code"))
            #expect(first != second)
            #expect(
                try await bench.sim.json("/hook/\(hookID)/verify/validate", ["code": first], token: bench.token).status
                    == 400)
            #expect(
                try await bench.sim.json("/hook/\(hookID)/verify/validate", ["code": second], token: bench.token).status
                    == 204)
        }
    }

    @Test func hookCallsNeedAuthAndAnAppTokenOnlyReachesItsApp() async throws {
        try await withHookBench { bench in
            let bare = try await bench.sim.json(
                "/hook/app/\(bench.app)/", ["url": bench.receiver.url, "type": "item.create"])
            #expect(bare.status == 401)
            let other = bench.sim.simulator.appIDs()[1]
            let appToken = try await bench.sim.appToken(other)
            let foreign = try await bench.sim.json(
                "/hook/app/\(bench.app)/", ["url": bench.receiver.url, "type": "item.create"], token: appToken)
            #expect(foreign.status == 403)
            let own = try await bench.sim.json(
                "/hook/app/\(other)/", ["url": bench.receiver.url, "type": "item.create"], token: appToken)
            #expect(own.status == 200)
            let unknownType = try await bench.create("item.explode")
            #expect(unknownType.status == 400)
            #expect(unknownType.errorCode == "invalid_value")
        }
    }

    @Test func tenHooksOfATypePerAppThenListAndDelete() async throws {
        try await withHookBench { bench in
            var ids: [Int] = []
            for index in 0..<10 {
                let reply = try await bench.create("item.create", url: bench.receiver.url + "/h\(index)")
                #expect(reply.status == 200)
                ids.append(try #require(reply.object["hook_id"] as? Int))
            }
            let eleventh = try await bench.create("item.create")
            #expect(eleventh.status == 400)
            #expect(eleventh.errorCode == "invalid_value")
            #expect(try await bench.create("item.delete").status == 200, "the limit is per type")
            #expect(
                try await bench.create("item.create", app: bench.sim.simulator.appIDs()[1]).status == 200, "and per app"
            )

            let listed = try await bench.sim.get("/hook/app/\(bench.app)/", token: bench.token).array
            #expect(listed.count == 11)
            #expect(
                try await bench.sim.send(
                    .DELETE, "/hook/\(ids[0])", headers: [("Authorization", "OAuth2 \(bench.token)")]
                ).status == 204)
            #expect(
                try await bench.sim.send(
                    .DELETE, "/hook/\(ids[0])", headers: [("Authorization", "OAuth2 \(bench.token)")]
                ).status == 404)
            let remaining = try await bench.sim.get("/hook/app/\(bench.app)/", token: bench.token).array.compactMap {
                $0["hook_id"] as? Int
            }
            #expect(remaining.count == 10 && !remaining.contains(ids[0]))
            #expect(try await bench.create("item.create").status == 200, "a deleted hook frees its place")
        }
    }

    @Test func eachEventKindPostsItsFields() async throws {
        try await withHookBench { bench in
            let sim = bench.sim
            var hookOf: [String: Int] = [:]
            for type in [
                "item.create", "item.update", "item.delete", "comment.create", "comment.delete", "file.change",
                "app.update", "app.delete",
            ] {
                hookOf[type] = try await bench.activeHook(type)
            }
            let app = bench.app
            let created = try await sim.json("/_sim/items", ["app_id": app])
            let itemID = try #require((created.object["item_ids"] as? [Int])?.first)
            #expect(try await sim.json("/_sim/items/\(itemID)/edit", ["title": "x"]).status == 204)
            let commentID = try #require(
                try await sim.json("/_sim/items/\(itemID)/comment", [:] as [String: Any]).object["comment_id"] as? Int)
            #expect(try await sim.send(.DELETE, "/_sim/comments/\(commentID)").status == 204)
            let fileID = try #require(
                try await sim.json("/_sim/items/\(itemID)/files", ["name": "a.pdf", "size": 3]).object["file_id"]
                    as? Int)
            #expect(try await sim.send(.DELETE, "/_sim/files/\(fileID)").status == 204)
            #expect(try await sim.json("/_sim/apps/\(app)/fields", ["type": "text", "label": "New"]).status == 200)
            #expect(try await sim.send(.DELETE, "/_sim/items/\(itemID)").status == 204)
            #expect(try await sim.send(.DELETE, "/_sim/apps/\(app)").status == 204)

            try await bench.settle(9)
            let events = bench.receiver.events
            func one(_ type: String, _ extra: (HookReceiver.Post) -> Bool = { _ in true }) -> HookReceiver.Post? {
                let matching = events.filter { $0.type == type && extra($0) }
                #expect(matching.count == 1, "\(type): \(matching.count) posts")
                return matching.first
            }
            func keys(_ post: HookReceiver.Post?) -> [String] { post?.fields.map(\.0) ?? [] }

            let create = one("item.create")
            #expect(keys(create) == ["type", "hook_id", "item_id", "item_revision_id", "external_id"])
            #expect(create?.value("hook_id") == String(hookOf["item.create"] ?? 0))
            #expect(create?.value("item_id") == String(itemID))
            let update = one("item.update")
            #expect(keys(update) == ["type", "hook_id", "item_id", "item_revision_id", "external_id"])
            #expect(update?.value("item_revision_id") != create?.value("item_revision_id"))
            let delete = one("item.delete")
            #expect(delete?.value("item_id") == String(itemID))
            #expect(one("comment.create")?.fields.map(\.0) == ["type", "hook_id", "item_id", "comment_id"])
            #expect(one("comment.create")?.value("comment_id") == String(commentID))
            #expect(one("comment.delete")?.value("comment_id") == String(commentID))
            let created1 = one("file.change") { $0.value("action_type") == "file_created" }
            #expect(created1?.value("item_id") == String(itemID) && created1?.value("file_ids") == String(fileID))
            #expect(
                one("file.change") { $0.value("action_type") == "file_deleted" }?.value("file_ids") == String(fileID))
            #expect(one("app.update")?.fields.map(\.0) == ["type", "hook_id", "app_id"])
            #expect(one("app.update")?.value("app_id") == String(app))
            #expect(one("app.delete")?.value("app_id") == String(app))
            #expect(events.allSatisfy { $0.uri == "/hook" })
        }
    }

    @Test func theQueryStringMovesIntoTheBody() async throws {
        try await withHookBench { bench in
            let hookID = try await bench.activeHook("item.create", url: bench.receiver.url + "/in/abc?secret=s%20x&n=1")
            let verify = try #require(bench.receiver.posts.first)
            #expect(verify.uri == "/in/abc")
            #expect(verify.value("secret") == "s x" && verify.value("n") == "1")
            try bench.sim.simulator.createItem(appID: bench.app)
            try await bench.settle(1)
            let event = try #require(bench.receiver.events.first)
            #expect(event.uri == "/in/abc")
            #expect(
                event.fields.map(\.0) == [
                    "type", "hook_id", "item_id", "item_revision_id", "external_id", "secret", "n",
                ])
            #expect(event.value("hook_id") == String(hookID))
            // The list shows the URL as registered.
            let listed = try await bench.sim.get("/hook/app/\(bench.app)/", token: bench.token).array
            #expect(listed.first?["url"] as? String == bench.receiver.url + "/in/abc?secret=s%20x&n=1")
        }
    }

    @Test func hookFalseSuppressesOneChange() async throws {
        try await withHookBench { bench in
            let createHook = try await bench.activeHook("item.create")
            let updateHook = try await bench.activeHook("item.update")
            let sim = bench.sim
            let quiet = try #require(
                (try await sim.json("/_sim/items?hook=false", ["app_id": bench.app]).object["item_ids"] as? [Int])?
                    .first)
            #expect(try await sim.json("/_sim/items/\(quiet)/edit", ["hook": false]).status == 204)
            try sim.simulator.editItem(itemID: quiet, hook: false)
            let loud = try #require(
                (try await sim.json("/_sim/items", ["app_id": bench.app]).object["item_ids"] as? [Int])?.first)
            try await bench.settle(1)
            #expect(bench.receiver.events.map { $0.value("item_id") } == [String(loud)])
            #expect(bench.info(createHook)?.suppressed == 1)
            #expect(bench.info(updateHook)?.suppressed == 2)
            #expect(bench.info(createHook)?.delivered == 1)
        }
    }

    @Test func strictURLRuleByDefaultLoopbackOnlyBehindTheFlag() async throws {
        let receiver = try await HookReceiver.start()
        defer { Task { await receiver.stop() } }
        try await withSimulator({ $0.items = 10 }) { sim in
            let token = try await sim.userToken()
            func create(_ url: String) async throws -> Reply {
                try await sim.json("/hook/app/\(sim.projects)/", ["url": url, "type": "item.create"], token: token)
            }
            #expect(try await create(receiver.url + "/hook").status == 400, "loopback is not public")
            #expect(try await create("http://hooks.example.com:8080/x").status == 400, "port 8080")
            #expect(try await create("ftp://hooks.example.com/x").status == 400)
            #expect(try await create("http://10.1.2.3/x").status == 400, "a private address")
            let accepted = try await create("https://hooks.example.com/x")
            #expect(accepted.status == 200, "a public host on 443 is accepted (and never called)")
            #expect(try await create("http://hooks.example.com:80/x").status == 200)
            let hookID = try #require(accepted.object["hook_id"] as? Int)
            #expect(sim.simulator.hooks().first { $0.hookID == hookID }?.verifications == 1)
        }
        try await withSimulator({
            $0.items = 10; $0.allowLoopbackHooks = true
        }) { sim in
            let token = try await sim.userToken()
            let reply = try await sim.json(
                "/hook/app/\(sim.projects)/", ["url": receiver.url + "/hook", "type": "item.create"], token: token)
            #expect(reply.status == 200)
            let other = try await sim.json(
                "/hook/app/\(sim.projects)/", ["url": "http://hooks.example.com:8080/x", "type": "item.create"],
                token: token)
            #expect(other.status == 400, "the flag only frees loopback hosts")
        }
    }
}
