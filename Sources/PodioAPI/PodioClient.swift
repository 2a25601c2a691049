import Foundation
import Logging
import Synchronization

/// The Podio REST client: OAuth2, retries, rate-limit reporting, typed endpoints.
///
/// Every API call first asks the `CallGate` (the quota ledger) for permission and reports the
/// answer's status and rate-limit headers back to it. Retryable failures (5xx, timeouts, cut
/// connections, truncated or malformed bodies) are retried with exponential backoff and jitter,
/// bounded in count and time; a 401 for an expired or invalid token is answered with one
/// refresh and a retry (twice at most).
public final class PodioClient: Sendable {
    public struct Configuration: Sendable {
        /// `PODIO_API_URL`, without a trailing slash.
        public var apiURL: String
        public var apiKey: PodioAPIKey
        public var credentials: PodioCredentials
        /// Seconds one request may take in all.
        public var requestTimeout: Double = 60
        public var retry = RetryPolicy()
        /// Refresh this many seconds before the token expires.
        public var refreshMargin: Double = 300
        /// Calls answered 420 that are tried again (the gate decides how long to wait first).
        public var rateLimitRetries: Int = 2
        /// Token refreshes after a 401 before the call fails: a token can also expire (or be
        /// revoked) right after a refresh; a second rejection of a fresh token means refusal.
        public var tokenRefreshesPerCall: Int = 2
        public var userAgent = "podio-mirror/1.0"

        public init(apiURL: String, apiKey: PodioAPIKey, credentials: PodioCredentials) {
            var url = apiURL
            while url.hasSuffix("/") { url.removeLast() }
            self.apiURL = url
            self.apiKey = apiKey
            self.credentials = credentials
        }
    }

    public let configuration: Configuration
    /// The non-secret identity of these credentials (ledger and token store key).
    public let identity: String
    let transport: any HTTPTransport
    let gate: any CallGate
    let authenticator: PodioAuthenticator
    let redactor: SecretRedactor
    let logger: Logger
    /// Token lifetimes, retry deadlines and backoff sleeps are read from this clock.
    let clock: any WallClock
    private let counters = Mutex(ClientStats())

    /// Time spent on the network and decoding, and requests made, since the client was made.
    public var stats: ClientStats { counters.withLock { $0 } }

    public init(
        configuration: Configuration, transport: any HTTPTransport, tokenStore: (any TokenStore)? = nil,
        gate: any CallGate = OpenGate(), clock: any WallClock = SystemClock(), logger: Logger
    ) {
        self.configuration = configuration
        self.clock = clock
        self.transport = transport
        self.gate = gate
        self.logger = logger
        self.redactor = SecretRedactor([configuration.apiKey.clientSecret] + configuration.credentials.secrets)
        self.identity = configuration.credentials.identity(clientID: configuration.apiKey.clientID)
        self.authenticator = PodioAuthenticator(
            apiURL: configuration.apiURL, key: configuration.apiKey, credentials: configuration.credentials,
            store: tokenStore, transport: transport, redactor: redactor, logger: logger,
            refreshMargin: configuration.refreshMargin, timeout: configuration.requestTimeout,
            retry: configuration.retry, clock: clock)
    }

    /// Redacts every secret this client knows from a text (for callers that log or store errors).
    public func redact(_ text: String) -> String { redactor.redact(text) }

    /// Makes sure a valid access token exists (granting or refreshing one), without an API call.
    public func authenticate() async throws {
        _ = try await authenticator.accessToken()
    }

    /// Exchanges an authorization code from `/oauth/authorize` for tokens and stores them.
    public func exchange(code: String, redirectURI: String) async throws -> OAuthToken {
        try await authenticator.exchange(code: code, redirectURI: redirectURI)
    }

    /// Calls the API and decodes the answer; decoding failures count as retryable (a truncated
    /// body is the usual cause) and end in an error naming the endpoint.
    func request<T>(
        _ endpoint: PodioEndpoint, method: String, path: String, query: [(String, String)] = [],
        body: Data? = nil, decode: (Data) throws -> T
    ) async throws -> T {
        var url = configuration.apiURL + path
        if !query.isEmpty {
            url +=
                "?"
                + query.map { "\(PodioAuthenticator.formEscape($0.0))=\(PodioAuthenticator.formEscape($0.1))" }
                .joined(separator: "&")
        }
        let started = clock.now()
        var attempt = 0
        var refreshes = 0
        var rateLimited = 0
        while true {
            try Task.checkCancellation()
            attempt += 1
            let token = try await authenticator.accessToken()
            var headers = [
                ("Authorization", "OAuth2 \(token)"), ("Accept", "application/json"),
                ("User-Agent", configuration.userAgent),
            ]
            if body != nil { headers.append(("Content-Type", "application/json")) }
            let permit = try await gate.acquire(endpoint, identity: identity)
            let failure: PodioError
            do {
                let sending = Stopwatch()
                let response = try await transport.send(
                    TransportRequest(
                        method: method, url: url, headers: headers, body: body, timeout: configuration.requestTimeout))
                let httpSeconds = sending.seconds
                counters.withLock {
                    $0.requests += 1
                    $0.httpSeconds += httpSeconds
                    $0.bytesReceived += response.body.count
                }
                var error: PodioError?
                if !(200..<300).contains(response.status) {
                    error = Self.error(from: response, endpoint: endpoint.name, attempts: attempt, redactor: redactor)
                }
                await gate.complete(
                    permit, status: response.status, headers: Self.rateLimitHeaders(response),
                    retryAfterSeconds: error?.retryAfterSeconds)
                if let error {
                    failure = error
                } else {
                    do {
                        let decoding = Stopwatch()
                        let value = try decode(response.body)
                        let decodeSeconds = decoding.seconds
                        counters.withLock { $0.decodeSeconds += decodeSeconds }
                        return value
                    } catch {
                        failure = PodioError(
                            kind: .retryable, endpoint: endpoint.name, status: response.status,
                            detail: redactor.redact(
                                "the response is not the JSON Podio sends (\(Self.describe(decoding: error)))"),
                            requestID: response.header("X-Podio-Request-Id"), attempts: attempt)
                    }
                }
            } catch let error as TransportError {
                await gate.complete(
                    permit, status: nil, headers: RateLimitHeaders(limit: nil, remaining: nil), retryAfterSeconds: nil)
                failure = PodioError(
                    kind: .retryable, endpoint: endpoint.name, detail: redactor.redact(error.message), attempts: attempt
                )
            } catch {
                // Cancellation (or any other failure of the transport): the permit goes back
                // too, so the gate never keeps a call open that ended without an answer.
                await gate.complete(
                    permit, status: nil, headers: RateLimitHeaders(limit: nil, remaining: nil), retryAfterSeconds: nil)
                throw error
            }
            switch failure.kind {
            case .auth where failure.status == 401 && refreshes < configuration.tokenRefreshesPerCall:
                refreshes += 1
                logger.debug(
                    "token rejected; refreshing", metadata: ["endpoint": "\(endpoint)", "refresh": "\(refreshes)"])
                _ = try await authenticator.tokenRejected(token)
                attempt -= 1
                continue
            case .rateLimited where rateLimited < configuration.rateLimitRetries:
                rateLimited += 1
                logger.debug("rate limited; the gate decides the wait", metadata: ["endpoint": "\(endpoint)"])
                attempt -= 1
                continue
            case .retryable
            where attempt < configuration.retry.maxAttempts
                && clock.now().timeIntervalSince(started) < configuration.retry.maxElapsed:
                let delay = configuration.retry.delay(after: attempt)
                logger.debug(
                    "retrying", metadata: ["endpoint": "\(endpoint)", "attempt": "\(attempt)", "error": "\(failure)"])
                try await clock.sleep(seconds: delay)
                continue
            default:
                throw failure
            }
        }
    }

    /// Maps a non-2xx response to a `PodioError`, parsing Podio's error body when there is one.
    static func error(from response: TransportResponse, endpoint: String, attempts: Int, redactor: SecretRedactor)
        -> PodioError
    {
        struct Body: Decodable {
            var error: String?
            var error_description: String?
        }
        let parsed = try? JSONDecoder().decode(Body.self, from: response.body)
        var kind = PodioError.kind(status: response.status, code: parsed?.error)
        let description: String
        if (300..<400).contains(response.status) {
            // The transport follows no redirect: the request carries the token, and Podio
            // documents none. Only the target's host is told (its query may hold a signature).
            let host = response.header("Location").flatMap { URL(string: $0)?.host } ?? "no Location"
            description = "a redirect to \(host), not followed (podio-mirror follows no redirect)"
        } else if let text = parsed?.error_description {
            description = text
        } else if parsed?.error == nil {
            // Not Podio's JSON (a proxy's HTML page, say): its title, or a short single-line
            // excerpt, taken from text redacted before it is cut (a secret cut in half could no
            // longer be recognized).
            let redacted = redactor.redact(String(decoding: response.body.prefix(4096), as: UTF8.self))
            if let title = Self.htmlTitle(redacted) {
                description = "an HTML page (\(title))"
            } else {
                let excerpt = String(redacted.prefix(200))
                    .replacingOccurrences(of: "\n", with: " ").trimmingCharacters(in: .whitespaces)
                description = excerpt.isEmpty ? "no body" : "non-JSON body: \(excerpt)"
            }
            if kind == .invalidRequest && response.status >= 500 { kind = .retryable }
        } else {
            description = ""
        }
        return PodioError(
            kind: kind, endpoint: endpoint, status: response.status, code: parsed?.error,
            detail: redactor.redact(description), requestID: response.header("X-Podio-Request-Id"),
            retryAfterSeconds: kind == .rateLimited ? PodioError.waitSeconds(in: description) : nil, attempts: attempts)
    }

    /// The `<title>` of an HTML page (a proxy's or load balancer's error page), on one line.
    static func htmlTitle(_ text: String) -> String? {
        guard let open = text.range(of: "<title>", options: .caseInsensitive),
            let close = text.range(of: "</title>", options: .caseInsensitive, range: open.upperBound..<text.endIndex)
        else { return nil }
        let title = text[open.upperBound..<close.lowerBound]
            .split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        return title.isEmpty ? nil : String(title.prefix(120))
    }

    static func rateLimitHeaders(_ response: TransportResponse) -> RateLimitHeaders {
        RateLimitHeaders(
            limit: response.header("X-Rate-Limit-Limit").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) },
            remaining: response.header("X-Rate-Limit-Remaining").flatMap {
                Int($0.trimmingCharacters(in: .whitespaces))
            })
    }

    static func describe(decoding error: any Error) -> String {
        if let error = error as? JSONScanner.Failure { return error.description }
        if let error = error as? DecodingError {
            switch error {
            case .dataCorrupted(let context): return context.debugDescription
            case .keyNotFound(let key, _): return "missing key \(key.stringValue)"
            case .typeMismatch(_, let context):
                return "unexpected type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
            case .valueNotFound(_, let context):
                return "missing value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
            @unknown default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

/// Counters of one client.
public struct ClientStats: Sendable {
    public init() {}
    public var requests = 0
    public var httpSeconds = 0.0
    public var decodeSeconds = 0.0
    public var bytesReceived = 0
}
