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
        let redactor = SecretRedactor(["client-secret-1", "abc"])  // too short to redact
        redactor.add("access-token-123")
        redactor.add("access-token-123-longer")
        #expect(
            redactor.redact("a client-secret-1 b access-token-123-longer c access-token-123 abc")
                == "a *** b *** c *** abc")
        #expect(redactor.redact("nothing here") == "nothing here")
    }
}
