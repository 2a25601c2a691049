import Foundation
import Logging

/// Obtains, caches, refreshes and persists the OAuth2 tokens of one identity.
///
/// Refreshes are serialized: when several requests find the token expired or rejected at
/// once, one refresh runs and the others wait for its result (refresh tokens rotate, so two
/// refreshes with the same refresh token would fail the second).
actor PodioAuthenticator {
    private let apiURL: String
    private let key: PodioAPIKey
    private let credentials: PodioCredentials
    let identity: String
    private let store: (any TokenStore)?
    private let transport: any HTTPTransport
    private let redactor: SecretRedactor
    private let logger: Logger
    private let refreshMargin: Double
    private let timeout: Double
    private let retry: RetryPolicy
    private let clock: any WallClock

    private var token: OAuthToken?
    /// When `token` was obtained or loaded (seconds since 1970): bounds the refresh margin.
    private var tokenSince: Double = 0
    private var loaded = false
    private var renewal: Task<OAuthToken, any Error>?

    init(
        apiURL: String, key: PodioAPIKey, credentials: PodioCredentials, store: (any TokenStore)?,
        transport: any HTTPTransport, redactor: SecretRedactor, logger: Logger, refreshMargin: Double,
        timeout: Double, retry: RetryPolicy, clock: any WallClock
    ) {
        self.apiURL = apiURL
        self.key = key
        self.credentials = credentials
        self.identity = credentials.identity(clientID: key.clientID)
        self.store = store
        self.transport = transport
        self.redactor = redactor
        self.logger = logger
        self.refreshMargin = refreshMargin
        self.timeout = timeout
        self.retry = retry
        self.clock = clock
    }

    /// A token valid for at least the refresh margin (refreshing or granting one if needed).
    func accessToken() async throws -> String {
        if !loaded {
            loaded = true
            if let stored = try await store?.load(identity: identity) {
                remember(stored)
            }
        }
        if let token {
            // Never more than half the token's lifetime, so short-lived tokens are not
            // refreshed on every call.
            let margin = min(refreshMargin, max(0, (token.expiresAt - tokenSince) / 2))
            if token.expiresAt - margin > clock.now().timeIntervalSince1970 { return token.accessToken }
        }
        return try await renew().accessToken
    }

    /// Podio rejected `rejected` (401): renew once, unless another request already did.
    func tokenRejected(_ rejected: String) async throws -> String {
        if let token, token.accessToken != rejected { return token.accessToken }
        return try await renew().accessToken
    }

    /// Exchanges an authorization code (the `login` flow) and stores the pair.
    func exchange(code: String, redirectURI: String) async throws -> OAuthToken {
        let token = try await grant([
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirectURI,
        ])
        try await store?.save(token, identity: identity)
        remember(token)
        return token
    }

    private func renew() async throws -> OAuthToken {
        if let renewal { return try await renewal.value }
        // The task remembers the new token itself, before any waiter resumes: a waiter that
        // resumed first would otherwise read the rejected token again from `token`.
        let task = Task { () async throws -> OAuthToken in
            defer { self.renewal = nil }
            let fresh = try await self.performRenewal()
            self.remember(fresh)
            return fresh
        }
        renewal = task
        return try await task.value
    }

    private func performRenewal() async throws -> OAuthToken {
        let current = token
        if let refresh = current?.refreshToken {
            do {
                let fresh = try await renewal(.refresh, replacing: current) {
                    try await self.grant(["grant_type": "refresh_token", "refresh_token": refresh])
                }
                logger.debug("refreshed the access token", metadata: ["identity": "\(identity)"])
                return fresh
            } catch let error as PodioError where error.kind == .credentialsRefused {
                logger.debug("refresh token refused; granting anew", metadata: ["identity": "\(identity)"])
            }
        }
        let parameters: [String: String]
        switch credentials {
        case .password(let username, let password):
            parameters = ["grant_type": "password", "username": username, "password": password]
        case .app(let appID, let appToken):
            parameters = ["grant_type": "app", "app_id": String(appID), "app_token": appToken]
        case .stored where current == nil:
            throw PodioError(
                kind: .credentialsRefused, endpoint: "POST /oauth/token", code: PodioError.noStoredTokenCode,
                detail: "none are configured and no token is stored for \(identity)")
        case .stored:
            throw PodioError(
                kind: .credentialsRefused, endpoint: "POST /oauth/token",
                detail: "no usable stored token for \(identity); run `podio-mirror login` again")
        }
        let fresh = try await renewal(.grant, replacing: current) { try await self.grant(parameters) }
        logger.debug("obtained a new access token", metadata: ["identity": "\(identity)"])
        return fresh
    }

    /// Asks the token endpoint through the store, which saves the answer (and, shared between
    /// processes, may hand back a token another process obtained, or refuse to ask now).
    private func renewal(
        _ kind: TokenRenewal, replacing current: OAuthToken?,
        _ request: @escaping @Sendable () async throws -> OAuthToken
    ) async throws -> OAuthToken {
        guard let store else { return try await request() }
        return try await store.renew(identity: identity, kind: kind, replacing: current, request)
    }

    private func remember(_ token: OAuthToken) {
        self.token = token
        tokenSince = clock.now().timeIntervalSince1970
        redactor.add(token.accessToken)
        if let refresh = token.refreshToken { redactor.add(refresh) }
    }

    /// POSTs a grant to `/oauth/token/v2` (JSON), falling back to `/oauth/token` (form) when
    /// the server does not know v2. Retries transport failures and 5xx within the policy.
    private func grant(_ grantParameters: [String: String]) async throws -> OAuthToken {
        var parameters = grantParameters
        parameters["client_id"] = key.clientID
        parameters["client_secret"] = key.clientSecret
        let endpointName = "POST /oauth/token"
        let started = clock.now()
        var attempt = 0
        var useForm = false
        while true {
            attempt += 1
            let request: TransportRequest
            if useForm {
                let body = parameters.sorted { $0.key < $1.key }
                    .map { "\(Self.formEscape($0.key))=\(Self.formEscape($0.value))" }.joined(separator: "&")
                request = TransportRequest(
                    method: "POST", url: apiURL + "/oauth/token",
                    headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                    body: Data(body.utf8), timeout: timeout)
            } else {
                // JSON types are strict in v2: `app_id` is an integer, not a string.
                var object: [String: Any] = parameters
                if let appID = parameters["app_id"].flatMap({ Int($0) }) { object["app_id"] = appID }
                let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                request = TransportRequest(
                    method: "POST", url: apiURL + "/oauth/token/v2",
                    headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                    body: body, timeout: timeout)
            }
            let failure: PodioError
            do {
                let response = try await transport.send(request)
                if response.status == 404, !useForm {
                    useForm = true
                    attempt -= 1
                    continue
                }
                if (200..<300).contains(response.status) {
                    if let token = Self.decodeToken(response.body, now: clock.now()) { return token }
                    if Self.isTwoStepChallenge(response.body) {
                        // Not a malformed answer to retry: Podio wants a second factor that an
                        // unattended run cannot give, and asking again only burns logins.
                        throw PodioError(
                            kind: .credentialsRefused, endpoint: endpointName, status: response.status,
                            code: PodioError.twoStepVerificationCode,
                            detail:
                                "Podio asks for two-step verification (it answered the grant with a server_nonce and no access_token)",
                            requestID: response.header("X-Podio-Request-Id"), attempts: attempt)
                    }
                    failure = PodioError(
                        kind: .retryable, endpoint: endpointName, status: response.status,
                        detail: "the token response is not the JSON Podio sends", attempts: attempt)
                } else {
                    failure = PodioClient.error(
                        from: response, endpoint: endpointName, attempts: attempt, redactor: redactor)
                }
            } catch let error as TransportError {
                failure = PodioError(
                    kind: .retryable, endpoint: endpointName, detail: redactor.redact(error.message), attempts: attempt)
            }
            var final = failure
            if failure.kind == .auth || (failure.kind == .invalidRequest && failure.code == "unauthorized") {
                final.kind = .credentialsRefused
            }
            guard final.kind == .retryable, attempt < retry.maxAttempts,
                clock.now().timeIntervalSince(started) < retry.maxElapsed
            else { throw final }
            try await clock.sleep(seconds: retry.delay(after: attempt))
        }
    }

    /// The token of a grant's answer; its expiry counts from `now`, when the answer arrived.
    private static func decodeToken(_ body: Data, now: Date) -> OAuthToken? {
        struct Ref: Decodable {
            var type: String?
            var id: Int?
        }
        struct Response: Decodable {
            var access_token: String
            var refresh_token: String?
            var expires_in: Double?
            var ref: Ref?
        }
        guard let response = try? JSONDecoder().decode(Response.self, from: body), !response.access_token.isEmpty
        else { return nil }
        return OAuthToken(
            accessToken: response.access_token, refreshToken: response.refresh_token,
            expiresAt: now.timeIntervalSince1970 + (response.expires_in ?? 28800),
            refType: response.ref?.type, refID: response.ref?.id)
    }

    /// A 200 of the token endpoint that carries no access token but a two-step verification
    /// challenge: podio-rb's MFA flow reads a `server_nonce` there (reference §12); other
    /// members naming a nonce or a second factor are taken for the same.
    static func isTwoStepChallenge(_ body: Data) -> Bool {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return false }
        if let access = object["access_token"] as? String, !access.isEmpty { return false }
        return object.keys.contains { key in
            let name = key.lowercased()
            return name.contains("nonce") || name.contains("mfa") || name.contains("second_factor")
                || name.contains("two_factor") || name.contains("2fa")
        }
    }

    static func formEscape(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
