import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PodioSimulator
import Testing

@Suite("OAuth2 grants")
struct OAuthTests {
    func checkTokenShape(_ reply: Reply, refType: String, refID: Int, ttl: Int = 28800) throws {
        #expect(reply.status == 200)
        let body = reply.object
        #expect((body["access_token"] as? String)?.isEmpty == false)
        #expect((body["refresh_token"] as? String)?.isEmpty == false)
        #expect(body["token_type"] as? String == "bearer")
        #expect(body["expires_in"] as? Int == ttl)
        #expect(body["scope"] as? String != nil)
        let ref = try #require(body["ref"] as? [String: Any])
        #expect(ref["type"] as? String == refType)
        #expect(ref["id"] as? Int == refID)
        #expect(Set(body.keys) == ["access_token", "token_type", "expires_in", "refresh_token", "scope", "ref"])
    }

    @Test func passwordGrantFormAndJSON() async throws {
        try await withSimulator { sim in
            let form = try await sim.form(
                "/oauth/token",
                [
                    ("grant_type", "password"), ("client_id", sim.config.clientID),
                    ("client_secret", sim.config.clientSecret),
                    ("username", sim.config.username), ("password", sim.config.password),
                ])
            try checkTokenShape(form, refType: "user", refID: 1_000_001)
            let v2 = try await sim.json(
                "/oauth/token/v2",
                [
                    "grant_type": "password", "client_id": sim.config.clientID,
                    "client_secret": sim.config.clientSecret,
                    "username": sim.config.username, "password": sim.config.password,
                ])
            try checkTokenShape(v2, refType: "user", refID: 1_000_001)
            // Each endpoint takes only its own encoding.
            let jsonToV1 = try await sim.json("/oauth/token", ["grant_type": "password"])
            #expect(jsonToV1.status == 400)
            let formToV2 = try await sim.form("/oauth/token/v2", [("grant_type", "password")])
            #expect(formToV2.status == 400)
            #expect(sim.simulator.stats().tokenGrants["password"] == 2)
        }
    }

    @Test func appGrantFormAndJSON() async throws {
        try await withSimulator { sim in
            let appID = sim.projects
            let appToken = try #require(sim.simulator.appToken(appID: appID))
            let form = try await sim.form(
                "/oauth/token",
                [
                    ("grant_type", "app"), ("client_id", sim.config.clientID),
                    ("client_secret", sim.config.clientSecret),
                    ("app_id", String(appID)), ("app_token", appToken),
                ])
            try checkTokenShape(form, refType: "app", refID: appID)
            let v2 = try await sim.json(
                "/oauth/token/v2",
                [
                    "grant_type": "app", "client_id": sim.config.clientID, "client_secret": sim.config.clientSecret,
                    "app_id": appID, "app_token": appToken,
                ])
            try checkTokenShape(v2, refType: "app", refID: appID)
            // JSON types are strict: app_id as a string is refused in v2.
            let stringID = try await sim.json(
                "/oauth/token/v2",
                [
                    "grant_type": "app", "client_id": sim.config.clientID, "client_secret": sim.config.clientSecret,
                    "app_id": String(appID), "app_token": appToken,
                ])
            #expect(stringID.status == 400)
            let wrongToken = try await sim.form(
                "/oauth/token",
                [
                    ("grant_type", "app"), ("client_id", sim.config.clientID),
                    ("client_secret", sim.config.clientSecret),
                    ("app_id", String(appID)), ("app_token", "nope"),
                ])
            #expect(wrongToken.status == 400)
            #expect(wrongToken.errorCode == "invalid_grant")
        }
    }

    @Test func wrongSecretAndWrongPassword() async throws {
        try await withSimulator { sim in
            let badSecret = try await sim.form(
                "/oauth/token",
                [
                    ("grant_type", "password"), ("client_id", sim.config.clientID), ("client_secret", "wrong"),
                    ("username", sim.config.username), ("password", sim.config.password),
                ])
            #expect(badSecret.status == 401)
            #expect(badSecret.errorCode == "invalid_client")
            let badPassword = try await sim.json(
                "/oauth/token/v2",
                [
                    "grant_type": "password", "client_id": sim.config.clientID,
                    "client_secret": sim.config.clientSecret,
                    "username": sim.config.username, "password": "wrong",
                ])
            #expect(badPassword.status == 400)
            #expect(badPassword.errorCode == "invalid_grant")
            for key in ["error", "error_description", "error_detail", "error_parameters", "error_propagate", "request"]
            {
                #expect(badPassword.object.keys.contains(key), "missing \(key)")
            }
            let request = try #require(badPassword.object["request"] as? [String: Any])
            #expect(request["method"] as? String == "POST")
            #expect((request["url"] as? String)?.hasSuffix("/oauth/token/v2") == true)
            #expect(request["query_string"] as? String == "")
        }
    }

    @Test func refreshRotatesAndOldRefreshTokenIsRefused() async throws {
        try await withSimulator { sim in
            let first = try await sim.form(
                "/oauth/token",
                [
                    ("grant_type", "password"), ("client_id", sim.config.clientID),
                    ("client_secret", sim.config.clientSecret),
                    ("username", sim.config.username), ("password", sim.config.password),
                ])
            let refresh = try #require(first.object["refresh_token"] as? String)
            let second = try await sim.form(
                "/oauth/token",
                [
                    ("grant_type", "refresh_token"), ("client_id", sim.config.clientID),
                    ("client_secret", sim.config.clientSecret),
                    ("refresh_token", refresh),
                ])
            try checkTokenShape(second, refType: "user", refID: 1_000_001)
            let newRefresh = try #require(second.object["refresh_token"] as? String)
            #expect(newRefresh != refresh)
            let reused = try await sim.form(
                "/oauth/token",
                [
                    ("grant_type", "refresh_token"), ("client_id", sim.config.clientID),
                    ("client_secret", sim.config.clientSecret),
                    ("refresh_token", refresh),
                ])
            #expect(reused.status == 400)
            #expect(reused.errorCode == "invalid_grant")
            let v2 = try await sim.json(
                "/oauth/token/v2",
                [
                    "grant_type": "refresh_token", "client_id": sim.config.clientID,
                    "client_secret": sim.config.clientSecret,
                    "refresh_token": newRefresh,
                ])
            #expect(v2.status == 200)
            let token = try #require(second.object["access_token"] as? String)
            #expect(try await sim.get("/org/", token: token).status == 200)
        }
    }

    @Test func authorizationCodeFlow() async throws {
        try await withSimulator { sim in
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
            do {
                let redirect = "http://127.0.0.1:9/callback"
                let query =
                    "response_type=code&client_id=\(sim.config.clientID)&redirect_uri=\(SimHarness.encode(redirect))&state=xyz%20123"
                let reply = try await sim.send(.GET, "/oauth/authorize?\(query)", client: client)
                #expect(reply.status == 302)
                let location = try #require(reply.header("Location"))
                #expect(location.hasPrefix(redirect + "?code="))
                let components = try #require(URLComponents(string: location))
                let code = try #require(components.queryItems?.first(where: { $0.name == "code" })?.value)
                #expect(components.queryItems?.first(where: { $0.name == "state" })?.value == "xyz 123")
                let unknownClient = try await sim.send(
                    .GET, "/oauth/authorize?response_type=code&client_id=other&redirect_uri=x",
                    client: client)
                #expect(unknownClient.status == 400)

                func redeem(_ code: String, _ redirectURI: String) async throws -> Reply {
                    try await sim.form(
                        "/oauth/token",
                        [
                            ("grant_type", "authorization_code"), ("client_id", sim.config.clientID),
                            ("client_secret", sim.config.clientSecret), ("code", code), ("redirect_uri", redirectURI),
                        ])
                }
                try checkTokenShape(try await redeem(code, redirect), refType: "user", refID: 1_000_001)
                let again = try await redeem(code, redirect)  // single use
                #expect(again.status == 400)
                #expect(again.errorCode == "invalid_grant")
                let second = try await sim.send(.GET, "/oauth/authorize?\(query)", client: client)
                let secondCode = try #require(
                    URLComponents(string: second.header("Location") ?? "")?.queryItems?
                        .first(where: { $0.name == "code" })?.value)
                let mismatch = try await redeem(secondCode, "http://127.0.0.1:9/other")
                #expect(mismatch.status == 400)
                #expect(mismatch.errorCode == "invalid_grant")
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
        }
    }

    @Test func accessTokenExpiresAfterTTL() async throws {
        // Two seconds of life on the simulator's manual clock: the first call lands inside it
        // however slow the machine; then the clock jumps past it instead of the test sleeping.
        try await withSimulator({ $0.tokenTTL = 2 }) { sim in
            let token = try await sim.userToken()
            #expect(try await sim.get("/org/", token: token).status == 200)
            sim.simulator.advanceClock(seconds: 2.3)
            let expired = try await sim.get("/org/", token: token)
            #expect(expired.status == 401)
            #expect(expired.errorCode == "unauthorized")
            #expect(expired.errorDescription == "expired_token")
        }
    }

    @Test func tokenEndpointHasItsOwnThrottle() async throws {
        try await withSimulator { sim in
            var last = Reply(status: 0, headers: [:], body: [])
            for _ in 0..<101 {
                last = try await sim.form(
                    "/oauth/token",
                    [
                        ("grant_type", "password"), ("client_id", sim.config.clientID),
                        ("client_secret", sim.config.clientSecret),
                        ("username", sim.config.username), ("password", sim.config.password),
                    ])
            }
            #expect(last.status == 420)
            #expect(last.errorCode == "rate_limit")
        }
    }
}
