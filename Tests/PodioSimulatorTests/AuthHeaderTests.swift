import Foundation
import NIOHTTP1
import PodioSimulator
import Testing

@Suite("Authorization header and app-token isolation")
struct AuthHeaderTests {
    @Test func onlyOAuth2SchemeIsAccepted() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let ok = try await sim.send(.GET, "/org/", headers: [("Authorization", "OAuth2 \(token)")])
            #expect(ok.status == 200)
            #expect(ok.header("X-Podio-Request-Id") != nil)
            let bearer = try await sim.send(.GET, "/org/", headers: [("Authorization", "Bearer \(token)")])
            #expect(bearer.status == 401)
            #expect(bearer.errorCode == "unauthorized")
            #expect(bearer.errorDescription == "expired_token")
            let missing = try await sim.send(.GET, "/org/")
            #expect(missing.status == 401)
            #expect(missing.errorCode == "unauthorized")
            #expect(missing.errorDescription == "invalid_request")
            #expect(missing.header("X-Rate-Limit-Limit") == "1000")
            let empty = try await sim.send(.GET, "/org/", headers: [("Authorization", "OAuth2 ")])
            #expect(empty.status == 400)
            let bogus = try await sim.send(.GET, "/org/", headers: [("Authorization", "OAuth2 not-a-token")])
            #expect(bogus.status == 401)
            #expect(bogus.errorDescription == "expired_token")
        }
    }

    @Test func appTokenSeesOnlyItsOwnApp() async throws {
        try await withSimulator { sim in
            let ids = sim.simulator.appIDs()
            let own = ids[0]
            let other = ids[1]
            let token = try await sim.appToken(own)
            #expect(try await sim.get("/app/\(own)", token: token).status == 200)
            #expect(try await sim.get("/item/app/\(own)/count", token: token).status == 200)
            let page = try await sim.filter(own, ["limit": 5], token: token)
            #expect(page.status == 200)
            let ownItem = try #require(sim.items(page).first?["item_id"] as? Int)
            #expect(try await sim.get("/item/\(ownItem)", token: token).status == 200)

            let userToken = try await sim.userToken()
            let otherPage = try await sim.filter(other, ["limit": 1], token: userToken)
            let otherItem = try #require(sim.items(otherPage).first?["item_id"] as? Int)
            for path in [
                "/app/\(other)", "/org/", "/app/", "/app/v2/", "/app/space/2720001/", "/item/\(otherItem)",
                "/item/app/\(other)/count", "/space/2720001", "/org/736001/space/",
            ] {
                let reply = try await sim.get(path, token: token)
                #expect(reply.status == 403, "\(path) gave \(reply.status)")
                #expect(reply.errorCode == "forbidden")
            }
            let otherFilter = try await sim.filter(other, ["limit": 1], token: token)
            #expect(otherFilter.status == 403)
        }
    }

    @Test func unknownRoutesWrongMethodsAndMissingSlashAre404() async throws {
        try await withSimulator { sim in
            let token = try await sim.userToken()
            let app = sim.projects
            let cases: [(HTTPMethod, String)] = [
                (.GET, "/org"), (.GET, "/app/space/2720001"), (.POST, "/item/app/\(app)/filter"),
                (.GET, "/item/app/\(app)/filter/"), (.GET, "/item/app/\(app)/count/"), (.GET, "/nothing/here"),
                (.DELETE, "/app/\(app)"), (.GET, "/item/abc"),
            ]
            for (method, path) in cases {
                let reply = try await sim.send(
                    method, path, headers: [("Authorization", "OAuth2 \(token)")], body: Array("{}".utf8))
                #expect(reply.status == 404, "\(method) \(path) gave \(reply.status)")
                #expect(reply.errorCode == "not_found")
                #expect(reply.errorDescription?.hasPrefix("No matching operation could be found") == true)
            }
        }
    }
}
