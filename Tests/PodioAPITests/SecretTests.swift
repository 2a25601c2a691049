import Foundation
import PodioAPI
import PodioSimulator
import Synchronization
import Testing

/// A transport that forwards token requests to the simulator and answers API calls with
/// error pages that echo the credentials back (as a misbehaving proxy or server might).
final class EchoingTransport: HTTPTransport {
    enum Mode: Sendable {
        /// A 502 HTML page quoting the Authorization header so the token straddles byte 200.
        case htmlEcho
        /// A 400 in Podio's JSON whose description names every secret it saw.
        case jsonEcho
    }

    private let inner: any HTTPTransport
    private let mode: Mode
    private let secretsSeen = Mutex<[String]>([])

    init(inner: any HTTPTransport, mode: Mode) {
        self.inner = inner
        self.mode = mode
    }

    var secrets: [String] { secretsSeen.withLock { $0 } }

    func send(_ request: TransportRequest) async throws -> TransportResponse {
        if request.url.contains("/oauth/") {
            let response = try await inner.send(request)
            if let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] {
                let tokens = ["access_token", "refresh_token"].compactMap { object[$0] as? String }
                secretsSeen.withLock { $0 += tokens }
            }
            if let body = request.body, let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] {
                let sent = ["client_secret", "password", "refresh_token", "app_token"].compactMap {
                    object[$0] as? String
                }
                secretsSeen.withLock { $0 += sent }
            }
            return response
        }
        let authorization = request.headers.first { $0.0 == "Authorization" }?.1 ?? ""
        switch mode {
        case .htmlEcho:
            let page = String(repeating: "x", count: 185) + authorization + " </pre></body></html>"
            return TransportResponse(status: 502, headers: [("Content-Type", "text/html")], body: Data(page.utf8))
        case .jsonEcho:
            let description = "rejected \(authorization) after seeing " + secrets.joined(separator: " and ")
            let body = try JSONSerialization.data(withJSONObject: [
                "error": "invalid_value", "error_description": description, "error_detail": NSNull(),
            ])
            return TransportResponse(status: 400, headers: [("Content-Type", "application/json")], body: body)
        }
    }
}

@Suite("No secret in errors or logs")
struct SecretTests {
    /// Every secret the scenario could leak, and at least 8-character fragments of each token.
    private func assertNoSecrets(
        _ texts: [String], secrets: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let secrets = Set(secrets.filter { $0.count >= 8 })
        #expect(!secrets.isEmpty, sourceLocation: sourceLocation)
        for text in texts {
            for secret in secrets {
                let fragments = [secret, String(secret.prefix(8)), String(secret.suffix(8))]
                for fragment in fragments where text.contains(fragment) {
                    Issue.record("a secret leaked: \(text)", sourceLocation: sourceLocation)
                }
            }
        }
    }

    private func baseSecrets(_ c: ClientContext) async -> [String] {
        var secrets = [c.simConfig.clientSecret, c.simConfig.password]
        secrets += c.sim.appIDs().compactMap { c.sim.appToken(appID: $0) }
        secrets += await c.store.allSecrets()
        return secrets
    }

    @Test func failingScenariosLeakNoSecret() async throws {
        try await withClient(sim: {
            $0.rateLimit = 1; $0.rateWindow = 60
        }) { c in
            var descriptions: [String] = []
            func record(_ body: () async throws -> Void) async {
                if let error = await failure(of: body) { descriptions.append("\(error)") }
            }
            // Wrong client secret, wrong password, wrong app token.
            let wrongSecret = "wrong-client-secret-\(UUID().uuidString)"
            let wrongPassword = "wrong-password-\(UUID().uuidString)"
            await record {
                try await c.makeClient(
                    credentials: .password(username: c.simConfig.username, password: c.simConfig.password),
                    apiKey: PodioAPIKey(clientID: c.simConfig.clientID, clientSecret: wrongSecret)
                ).authenticate()
            }
            await record {
                try await c.makeClient(credentials: .password(username: c.simConfig.username, password: wrongPassword))
                    .authenticate()
            }
            let wrongAppToken = "wrong-app-token-\(UUID().uuidString)"
            await record {
                try await c.makeClient(credentials: .app(appID: c.projects, appToken: wrongAppToken)).authenticate()
            }
            // An app client that works, then calls outside its app (403).
            let appClient = c.makeClient(
                credentials: .app(appID: c.projects, appToken: c.sim.appToken(appID: c.projects) ?? ""))
            _ = try await appClient.app(c.projects)
            await record { _ = try await appClient.organizations() }
            // 401 that persists after the refreshes.
            _ = try await c.client.organizations()
            c.sim.injectFaults(.expireToken, count: 3)
            await record { _ = try await c.client.organizations() }
            // 420.
            _ = try await c.client.itemCount(appID: c.projects)
            await record { _ = try await c.client.itemCount(appID: c.projects) }
            // 5xx past the bound, a cut connection, a truncated body.
            c.sim.injectFaults(.serverError, count: fastRetry.maxAttempts)
            await record { _ = try await c.client.organizations() }
            c.sim.injectFaults(.cutBody, count: fastRetry.maxAttempts)
            await record { _ = try await c.client.organizations() }
            c.sim.injectFaults(.truncatedJSON, count: fastRetry.maxAttempts)
            await record { _ = try await c.client.app(c.projects) }

            #expect(descriptions.count == 9)
            let logs = c.logs.all
            #expect(logs.contains { $0.contains("retrying") })  // the capture sees the client's lines
            #expect(logs.contains { $0.contains("token rejected; refreshing") })
            let secrets = await baseSecrets(c) + [wrongSecret, wrongPassword, wrongAppToken]
            #expect(await c.store.allSecrets().count >= 6)  // user and app pairs, the refreshed pair
            assertNoSecrets(descriptions + logs, secrets: secrets)
        }
    }

    @Test(arguments: [EchoingTransport.Mode.htmlEcho, .jsonEcho])
    func echoedCredentialsAreRedacted(mode: EchoingTransport.Mode) async throws {
        try await withClient { c in
            let echo = EchoingTransport(inner: c.transport, mode: mode)
            var configuration = c.clientConfig
            configuration.retry.maxAttempts = 2
            let logs = LogSink()
            let client = PodioClient(
                configuration: configuration, transport: echo, tokenStore: c.store, gate: OpenGate(),
                logger: logs.logger())
            let error = try #require(await podioError { try await client.organizations() })
            switch mode {
            case .htmlEcho:
                #expect(error.kind == .retryable)
                #expect(error.description.contains("non-JSON body"))
                #expect(error.description.contains("xxxxOAuth2 "))  // the excerpt is there, the token is not
            case .jsonEcho:
                #expect(error.kind == .invalidRequest)
                #expect(error.description.contains("rejected OAuth2 ***"))
            }
            #expect(echo.secrets.count >= 4)
            assertNoSecrets(
                [error.description, error.detail] + logs.all, secrets: echo.secrets + (await baseSecrets(c)))
        }
    }

    @Test func redactorReplacesEverySecret() {
        let redactor = SecretRedactor(["client-secret-1", "abc"])
        redactor.add("access-token-123")
        redactor.add("access-token-123-longer")
        #expect(
            redactor.redact("a client-secret-1 b access-token-123-longer c access-token-123 abc")
                == "a *** b *** c *** ***")
        #expect(redactor.redact("nothing here") == "nothing here")
        // Long secrets go wherever they are, glued to other text too.
        #expect(redactor.redact("xOAuth2access-token-123y") == "xOAuth2***y")
    }

    /// A one- or two-character secret goes where it stands as a value, and every other
    /// occurrence of those characters stays.
    @Test func shortSecretsAreRedactedAsWholeValuesOnly() {
        let redactor = SecretRedactor(["a", "p4"])
        let cases: [(String, String)] = [
            ("password=a&client_id=x", "password=***&client_id=x"),
            (
                "https://api.example.com/oauth/token?password=p4&username=a",
                "https://api.example.com/oauth/token?password=***&username=***"
            ),
            (#"{"password":"a","username":"banana"}"#, #"{"password":"***","username":"banana"}"#),
            ("podio-mirror --password a --app 12", "podio-mirror --password *** --app 12"),
            ("Authorization: OAuth2 p4", "Authorization: OAuth2 ***"),
            ("https://user:p4@host/path", "https://user:***@host/path"),
            ("the password was a.", "the password was ***."),
            ("['a', \"p4\"]", "['***', \"***\"]"),
            ("a", "***"),
            // Other text keeps its letters and digits.
            (
                "a bad day at the database: p4p4 and xp4 and p45 and a-b and a.b and 2p4",
                "*** bad day at the database: p4p4 and xp4 and p45 and a-b and a.b and 2p4"
            ),
            (
                "Podio answered 400 invalid_grant: Invalid user credentials",
                "Podio answered 400 invalid_grant: Invalid user credentials"
            ),
        ]
        for (text, expected) in cases {
            #expect(redactor.redact(text) == expected, "\(text)")
        }
        // A PIN does not take a year's dates with it, but goes where it is the value.
        let pin = SecretRedactor(["2024"])
        #expect(pin.redact("run of 2024-11-29 04:57:34 UTC; pin=2024") == "run of 2024-11-29 04:57:34 UTC; pin=***")
    }

    /// A server or proxy may echo a secret percent-encoded (URL, form body) or JSON-escaped.
    @Test func encodedFormsOfSecretsAreRedacted() {
        let redactor = SecretRedactor([#"p w/"1"#, "pass word&more/x"])
        let cases: [(String, String)] = [
            ("password=p%20w%2F%221&x=1", "password=***&x=1"),
            ("password=p+w%2f%221&x=1", "password=***&x=1"),
            (#"{"password":"p w\/\"1"}"#, #"{"password":"***"}"#),
            (#"{"password":"p w/\"1"}"#, #"{"password":"***"}"#),
            ("body: password=pass%20word%26more%2Fxy", "body: password=***y"),
            (#"echo "pass word&more\/x" back"#, #"echo "***" back"#),
        ]
        for (text, expected) in cases {
            #expect(redactor.redact(text) == expected, "\(text)")
        }
    }

    /// Through the client: a one-character password and client secret, echoed back by a server,
    /// are gone from the error, and the message around them is whole.
    @Test func oneCharacterCredentialsLeaveNoTraceAndNoGarble() async throws {
        try await withClient(sim: {
            $0.password = "e"
            $0.clientSecret = "s"
        }) { c in
            let echo = EchoingTransport(inner: c.transport, mode: .jsonEcho)
            let logs = LogSink()
            let client = PodioClient(
                configuration: c.clientConfig, transport: echo, tokenStore: c.store, gate: OpenGate(),
                logger: logs.logger())
            let error = try #require(await podioError { try await client.organizations() })
            #expect(echo.secrets.contains("e") && echo.secrets.contains("s"))
            let text = error.description
            #expect(
                text.contains(
                    "Podio GET /org/ answered 400 invalid_value: rejected OAuth2 *** after seeing *** and *** and"),
                "\(text)")
            for line in [text] + logs.all {
                let words = line.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
                #expect(!words.contains("e") && !words.contains("s"), "\(line)")
            }
        }
    }
}
