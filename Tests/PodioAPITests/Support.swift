import Foundation
import Logging
import PodioAPI
import PodioSimulator
import Synchronization
import TestSupport
import Testing

// MARK: - Token store

/// An in-memory `TokenStore` that remembers every pair it was handed.
actor MemoryTokenStore: TokenStore {
    private var tokens: [String: OAuthToken] = [:]
    private(set) var saves: [(identity: String, token: OAuthToken)] = []
    private(set) var loads = 0

    init(_ initial: [String: OAuthToken] = [:]) {
        tokens = initial
    }

    func load(identity: String) async throws -> OAuthToken? {
        loads += 1
        return tokens[identity]
    }

    func save(_ token: OAuthToken, identity: String) async throws {
        tokens[identity] = token
        saves.append((identity, token))
    }

    func put(_ token: OAuthToken, identity: String) {
        tokens[identity] = token
    }

    func token(_ identity: String) -> OAuthToken? {
        tokens[identity]
    }

    /// Every access and refresh token the store ever received.
    func allSecrets() -> [String] {
        saves.flatMap { [$0.token.accessToken] + ($0.token.refreshToken.map { [$0] } ?? []) }
            + tokens.values.flatMap { [$0.accessToken] + ($0.refreshToken.map { [$0] } ?? []) }
    }
}

// MARK: - Call gate spy

/// A `CallGate` that lets every call through and records what it was told.
final class SpyGate: CallGate {
    struct Completion: Sendable {
        var endpoint: PodioEndpoint
        var tier: QuotaTier
        var identity: String
        var status: Int?
        var headers: RateLimitHeaders
        var retryAfterSeconds: Int?
    }

    private let state = Mutex<(acquired: [PodioEndpoint], identities: [String], completed: [Completion])>(([], [], []))

    var acquired: [PodioEndpoint] { state.withLock { $0.acquired } }
    var identities: [String] { state.withLock { $0.identities } }
    var completed: [Completion] { state.withLock { $0.completed } }

    func acquire(_ endpoint: PodioEndpoint, identity: String) async throws -> CallPermit {
        let id = state.withLock { state -> Int64 in
            state.acquired.append(endpoint)
            state.identities.append(identity)
            return Int64(state.acquired.count)
        }
        return CallPermit(id: id, endpoint: endpoint, tier: endpoint.defaultTier, identity: identity)
    }

    func complete(_ permit: CallPermit, status: Int?, headers: RateLimitHeaders, retryAfterSeconds: Int?) async {
        state.withLock {
            $0.completed.append(
                Completion(
                    endpoint: permit.endpoint, tier: permit.tier, identity: permit.identity, status: status,
                    headers: headers,
                    retryAfterSeconds: retryAfterSeconds))
        }
    }
}

// MARK: - Log capture

/// Collects every log line (message and metadata, the handler's included) in memory.
final class LogSink: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    func logger(label: String = "podio-api-tests") -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(sink: self) }
        logger.logLevel = .trace
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let sink: LogSink
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let error = event.error.map { " error=\($0)" } ?? ""
        sink.append("[\(event.level)] \(event.message) \(rendered)\(error)")
    }
}

// MARK: - Client harness

/// A simulator, one HTTP transport, and a client over them, with the spies the tests read.
struct ClientContext: Sendable {
    let sim: PodioSimulator
    let simConfig: PodioSimulator.Configuration
    let transport: AsyncHTTPClientTransport
    let client: PodioClient
    let clientConfig: PodioClient.Configuration
    let store: MemoryTokenStore
    let gate: SpyGate
    let logs: LogSink
    /// The client's clock: a `TestClock` when the test asked for one, else the system's.
    let clock: any WallClock

    var apiKey: PodioAPIKey { PodioAPIKey(clientID: simConfig.clientID, clientSecret: simConfig.clientSecret) }
    var userIdentity: String { "user:\(simConfig.clientID):\(simConfig.username.lowercased())" }
    var loginIdentity: String { "user:\(simConfig.clientID):login" }

    /// App ids of the standard dataset, in creation order.
    var projects: Int { sim.appIDs()[0] }
    var leads: Int { sim.appIDs()[1] }
    var hostile: Int { sim.appIDs()[2] }

    /// Another client over the same simulator and transport.
    func makeClient(
        credentials: PodioCredentials, apiKey: PodioAPIKey? = nil, store: (any TokenStore)? = nil,
        gate: (any CallGate)? = nil, _ adjust: (inout PodioClient.Configuration) -> Void = { _ in }
    ) -> PodioClient {
        var configuration = clientConfig
        configuration.credentials = credentials
        configuration.apiKey = apiKey ?? self.apiKey
        adjust(&configuration)
        return PodioClient(
            configuration: configuration, transport: transport, tokenStore: store ?? self.store,
            gate: gate ?? self.gate, clock: clock,
            logger: logs.logger())
    }

    /// A raw HTTP call to the simulator through the client's transport (no redirects followed).
    func send(_ method: String, _ path: String, headers: [(String, String)] = [], json: [String: Any]? = nil)
        async throws -> TransportResponse
    {
        var body: Data?
        var allHeaders = headers
        if let json {
            body = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
            allHeaders.append(("Content-Type", "application/json"))
        }
        return try await transport.send(
            TransportRequest(method: method, url: sim.baseURL + path, headers: allHeaders, body: body, timeout: 10))
    }

    /// A token pair straight from `POST /oauth/token/v2` (password grant), bypassing the client.
    func directPasswordGrant() async throws -> OAuthToken {
        let response = try await send(
            "POST", "/oauth/token/v2",
            json: [
                "grant_type": "password", "client_id": simConfig.clientID, "client_secret": simConfig.clientSecret,
                "username": simConfig.username, "password": simConfig.password,
            ])
        try #require(response.status == 200)
        let object = try #require(try JSONSerialization.jsonObject(with: response.body) as? [String: Any])
        return OAuthToken(
            accessToken: try #require(object["access_token"] as? String),
            refreshToken: try #require(object["refresh_token"] as? String),
            expiresAt: clock.now().timeIntervalSince1970 + Double(try #require(object["expires_in"] as? Int)))
    }

    /// Redeems a refresh token directly; returns the HTTP status and Podio's error code.
    func directRefresh(_ refreshToken: String) async throws -> (status: Int, error: String?) {
        let response = try await send(
            "POST", "/oauth/token/v2",
            json: [
                "grant_type": "refresh_token", "refresh_token": refreshToken, "client_id": simConfig.clientID,
                "client_secret": simConfig.clientSecret,
            ])
        let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        return (response.status, object?["error"] as? String)
    }

    /// Grants per grant_type the simulator handed out.
    var grants: [String: Int] { sim.stats().tokenGrants }
    var totalGrants: Int { grants.values.reduce(0, +) }

    /// Served calls of one endpoint (e.g. "GET /org/"), faulted ones included.
    func served(_ endpoint: String) -> Int { sim.stats().callsByEndpoint[endpoint] ?? 0 }
}

/// Fast retries for tests: 3 attempts, tiny backoff.
let fastRetry = RetryPolicy(maxAttempts: 3, baseDelay: 0.01, maxDelay: 0.05, maxElapsed: 20)

/// Starts a simulator and a client (password grant, in-memory store, spy gate, captured
/// logs, a test clock), runs `body`, and always shuts the transport and the simulator down.
/// Holds `slots` of the suite's shared gate (`TestSlots`) meanwhile.
func withClient(
    sim adjustSim: (inout PodioSimulator.Configuration) -> Void = { _ in },
    credentials: ((PodioSimulator, PodioSimulator.Configuration) -> PodioCredentials)? = nil,
    client adjustClient: (inout PodioClient.Configuration) -> Void = { _ in },
    store: MemoryTokenStore = MemoryTokenStore(),
    clock: (any WallClock)? = nil,
    slots: Int = 1,
    _ body: (ClientContext) async throws -> Void
) async throws {
    try await TestSlots.with(weight: slots) {
        try await runClient(
            sim: adjustSim, credentials: credentials, client: adjustClient, store: store, clock: clock, body)
    }
}

private func runClient(
    sim adjustSim: (inout PodioSimulator.Configuration) -> Void,
    credentials: ((PodioSimulator, PodioSimulator.Configuration) -> PodioCredentials)?,
    client adjustClient: (inout PodioClient.Configuration) -> Void,
    store: MemoryTokenStore, clock: (any WallClock)?,
    _ body: (ClientContext) async throws -> Void
) async throws {
    // Made once the test holds its slots: a clock made before the wait would lag the wall clock.
    let clock = clock ?? TestClock(Date())
    var simConfig = PodioSimulator.Configuration()
    simConfig.items = 40
    // Time passes for tokens, retry deadlines and rate windows only when a test says so: the
    // client's clock is a `TestClock` and the simulator's is manual (`advanceClock`), so a slow
    // or busy machine cannot expire a token or end a retry budget behind a test's back.
    simConfig.manualClock = true
    adjustSim(&simConfig)
    let sim = try await PodioSimulator.start(simConfig)
    let transport = AsyncHTTPClientTransport(connectTimeout: 5, readTimeout: 10)
    let outcome: Result<Void, any Error>
    do {
        let creds =
            credentials?(sim, simConfig) ?? .password(username: simConfig.username, password: simConfig.password)
        var configuration = PodioClient.Configuration(
            apiURL: sim.baseURL + "/",
            apiKey: PodioAPIKey(clientID: simConfig.clientID, clientSecret: simConfig.clientSecret), credentials: creds)
        configuration.retry = fastRetry
        configuration.requestTimeout = 5
        configuration.rateLimitRetries = 0
        adjustClient(&configuration)
        let gate = SpyGate()
        let logs = LogSink()
        let client = PodioClient(
            configuration: configuration, transport: transport, tokenStore: store, gate: gate, clock: clock,
            logger: logs.logger())
        let context = ClientContext(
            sim: sim, simConfig: simConfig, transport: transport, client: client, clientConfig: configuration,
            store: store, gate: gate, logs: logs, clock: clock)
        try await body(context)
        outcome = .success(())
    } catch {
        outcome = .failure(error)
    }
    let transportError = await failure { try await transport.shutdown() }
    let simError = await failure { try await sim.shutdown() }
    try outcome.get()
    if let transportError { throw transportError }
    if let simError { throw simError }
}

/// Runs `body`, returning the error it threw (nil on success).
func failure(of body: () async throws -> Void) async -> (any Error)? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

/// Runs `body` and returns the `PodioError` it threw (recording an issue when it threw
/// something else or nothing).
func podioError<T>(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async -> PodioError? {
    do {
        _ = try await body()
        Issue.record("expected a PodioError, got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as PodioError {
        return error
    } catch {
        Issue.record("expected a PodioError, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

// MARK: - An independent JSON reader (keeps number text; tells booleans from numbers)

/// A small strict JSON parser used as ground truth for the client's decoding.
indirect enum TestJSON: Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([TestJSON])
    case object([(String, TestJSON)])

    static func == (a: TestJSON, b: TestJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .number(let n): n
        case .string(let s): "\"\(s)\""
        case .array(let a): "[\(a.map(\.description).joined(separator: ","))]"
        case .object(let o): "{\(o.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ","))}"
        }
    }

    subscript(_ key: String) -> TestJSON? {
        if case .object(let members) = self { return members.last { $0.0 == key }?.1 }
        return nil
    }

    var elements: [TestJSON] {
        if case .array(let a) = self { return a }
        return []
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var numberText: String? {
        if case .number(let n) = self { return n }
        return nil
    }

    struct Invalid: Error {}

    static func parse(_ data: Data) throws -> TestJSON {
        let bytes = [UInt8](data)
        var i = 0
        let value = try parseValue(bytes, &i)
        skip(bytes, &i)
        guard i == bytes.count else { throw Invalid() }
        return value
    }

    private static func skip(_ b: [UInt8], _ i: inout Int) {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private static func parseValue(_ b: [UInt8], _ i: inout Int) throws -> TestJSON {
        skip(b, &i)
        guard i < b.count else { throw Invalid() }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [(String, TestJSON)] = []
            skip(b, &i)
            if i < b.count, b[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            while true {
                skip(b, &i)
                guard case .string(let key) = try parseValue(b, &i) else { throw Invalid() }
                skip(b, &i)
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw Invalid() }
                i += 1
                members.append((key, try parseValue(b, &i)))
                skip(b, &i)
                guard i < b.count else { throw Invalid() }
                if b[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard b[i] == UInt8(ascii: "}") else { throw Invalid() }
                i += 1
                return .object(members)
            }
        case UInt8(ascii: "["):
            i += 1
            var elements: [TestJSON] = []
            skip(b, &i)
            if i < b.count, b[i] == UInt8(ascii: "]") {
                i += 1
                return .array(elements)
            }
            while true {
                elements.append(try parseValue(b, &i))
                skip(b, &i)
                guard i < b.count else { throw Invalid() }
                if b[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard b[i] == UInt8(ascii: "]") else { throw Invalid() }
                i += 1
                return .array(elements)
            }
        case UInt8(ascii: "\""):
            let start = i
            var escaped = false
            i += 1
            while i < b.count, b[i] != UInt8(ascii: "\"") {
                if b[i] == UInt8(ascii: "\\") { escaped = true }
                i += b[i] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard i < b.count else { throw Invalid() }
            i += 1
            if !escaped { return .string(String(decoding: b[(start + 1)..<(i - 1)], as: UTF8.self)) }
            // Escapes are resolved by JSONDecoder on the exact literal.
            return .string(try JSONDecoder().decode(String.self, from: Data(b[start..<i])))
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for (word, value) in [("true", TestJSON.bool(true)), ("false", .bool(false)), ("null", .null)] {
                let w = Array(word.utf8)
                if i + w.count <= b.count, Array(b[i..<i + w.count]) == w {
                    i += w.count
                    return value
                }
            }
            throw Invalid()
        default:
            let start = i
            while i < b.count,
                b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: ".")
                    || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") || (b[i] >= 0x30 && b[i] <= 0x39)
            {
                i += 1
            }
            guard i > start else { throw Invalid() }
            return .number(String(decoding: b[start..<i], as: UTF8.self))
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` as UTC, with Foundation's formatter (independent of `PodioTime`).
func utcDate(_ text: String) -> Date? {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = text.count == 10 ? "yyyy-MM-dd" : "yyyy-MM-dd HH:mm:ss"
    return formatter.date(from: text)
}
