import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PodioSimulator
import TestSupport
import Testing

/// One HTTP answer, with its JSON parsed when it is JSON.
struct Reply: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (empty when it is not one).
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    var array: [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [[String: Any]] ?? []
    }

    func header(_ name: String) -> String? {
        headers.first(name: name)
    }

    var errorCode: String? { object["error"] as? String }
    var errorDescription: String? { object["error_description"] as? String }
}

/// Test helpers: a simulator plus a plain HTTP client (AsyncHTTPClient), no Podio client.
struct SimHarness: Sendable {
    let simulator: PodioSimulator
    let config: PodioSimulator.Configuration

    static func start(_ adjust: (inout PodioSimulator.Configuration) -> Void = { _ in }) async throws -> SimHarness {
        var config = PodioSimulator.Configuration()
        config.items = 120
        // Token lifetimes and rate windows pass only when a test advances the clock, so a slow
        // or busy machine cannot expire a token or roll a window behind a test's back.
        config.manualClock = true
        adjust(&config)
        return SimHarness(simulator: try await PodioSimulator.start(config), config: config)
    }

    var url: String { simulator.baseURL }
    var projects: Int { simulator.appIDs()[0] }

    func stop() async throws {
        try await simulator.shutdown()
    }

    func send(
        _ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        client: HTTPClient = .shared
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let collected = try await response.body.collect(upTo: 256 * 1024 * 1024)
        return Reply(
            status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
    }

    func form(_ path: String, _ fields: [(String, String)]) async throws -> Reply {
        let text = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await send(
            .POST, path, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(text.utf8))
    }

    func json(_ path: String, _ value: Any, token: String? = nil, method: HTTPMethod = .POST) async throws -> Reply {
        let data = try JSONSerialization.data(withJSONObject: value)
        var headers = [("Content-Type", "application/json")]
        if let token { headers.append(("Authorization", "OAuth2 \(token)")) }
        return try await send(method, path, headers: headers, body: Array(data))
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// A user token from the password grant (form body).
    func userToken() async throws -> String {
        let reply = try await form(
            "/oauth/token",
            [
                ("grant_type", "password"), ("client_id", config.clientID), ("client_secret", config.clientSecret),
                ("username", config.username), ("password", config.password),
            ])
        #expect(reply.status == 200)
        return try #require(reply.object["access_token"] as? String)
    }

    /// An app token from the app grant (form body).
    func appToken(_ appID: Int) async throws -> String {
        let reply = try await form(
            "/oauth/token",
            [
                ("grant_type", "app"), ("client_id", config.clientID), ("client_secret", config.clientSecret),
                ("app_id", String(appID)), ("app_token", simulator.appToken(appID: appID) ?? ""),
            ])
        #expect(reply.status == 200)
        return try #require(reply.object["access_token"] as? String)
    }

    func get(_ path: String, token: String) async throws -> Reply {
        try await send(.GET, path, headers: [("Authorization", "OAuth2 \(token)")])
    }

    func filter(_ appID: Int, _ body: [String: Any], token: String, query: String = "") async throws -> Reply {
        try await json("/item/app/\(appID)/filter/\(query)", body, token: token)
    }

    /// Items of a filter answer.
    func items(_ reply: Reply) -> [[String: Any]] {
        reply.object["items"] as? [[String: Any]] ?? []
    }
}

/// Runs `body` with a started simulator and always shuts it down, holding `slots` of the
/// suite's shared gate (`TestSlots`).
func withSimulator(
    _ adjust: (inout PodioSimulator.Configuration) -> Void = { _ in }, slots: Int = 1,
    _ body: (SimHarness) async throws -> Void
) async throws {
    try await TestSlots.with(weight: slots) {
        let harness = try await SimHarness.start(adjust)
        do {
            try await body(harness)
        } catch {
            try? await harness.stop()
            throw error
        }
        try await harness.stop()
    }
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Date, like Podio.
func podioTime(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return formatter.string(from: date)
}
