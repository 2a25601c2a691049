/// OAuth2: `POST /oauth/token` (form body), `POST /oauth/token/v2` (JSON body) and
/// `GET /oauth/authorize` (auto-approved). Each token endpoint takes only its own
/// encoding (stricter reading: whether v2 accepts form bodies is unknown).
extension SimulatorCore {
    /// More token requests than this per client in one rate window get a 420.
    static let grantThrottle = 100
    static let userScope = "global:all"

    func handleOAuth(_ state: inout SimulatorState, _ request: SimRequest, now: Double) -> SimResponse {
        var response = oauthAnswer(&state, request, now: now)
        if request.path.hasPrefix("/oauth/token"), state.tokenDelayMilliseconds > 0 {
            response.delivery = .delay(milliseconds: state.tokenDelayMilliseconds)
        }
        return response
    }

    private func oauthAnswer(_ state: inout SimulatorState, _ request: SimRequest, now: Double) -> SimResponse {
        if request.method == "POST", request.path == "/oauth/token" || request.path == "/oauth/token/v2" {
            state.stats.tokenRequests += 1
            // The throttle mode: whatever the request, a 420 naming the wait that is left (the
            // captured 420 of §3.4 came while the API quota had thousands of calls left).
            if let until = state.tokenThrottledUntil {
                if until > now {
                    return rateLimitResponse(wait: max(1, Int((until - now).rounded(.up))), request, state)
                }
                state.tokenThrottledUntil = nil
            }
        }
        switch (request.method, request.path) {
        case ("POST", "/oauth/token"):
            guard request.contentType == "application/x-www-form-urlencoded",
                let pairs = TextCoding.parseForm(String(decoding: request.body, as: UTF8.self))
            else {
                return errorResponse(
                    APIError(
                        status: 400, error: "invalid_request",
                        description: "The body must be application/x-www-form-urlencoded"), request, state)
            }
            var params: [String: JSON] = [:]
            for (name, value) in pairs { params[name] = .string(value) }  // the last value counts
            return tokenGrant(&state, request, params: params, json: false, now: now)
        case ("POST", "/oauth/token/v2"):
            guard request.contentType == "application/json",
                case .object(let members)? = try? JSONParser.parse(request.body)
            else {
                return errorResponse(
                    APIError(
                        status: 400, error: "invalid_request",
                        description: "The body must be a JSON object (application/json)"), request, state)
            }
            var params: [String: JSON] = [:]
            for member in members { params[member.key] = member.value }
            return tokenGrant(&state, request, params: params, json: true, now: now)
        case ("GET", "/oauth/authorize"):
            return authorize(&state, request, now: now)
        default:
            return errorResponse(.noOperation(path: request.path), request, state)
        }
    }

    private func oauthError(
        _ status: Int, _ error: String, _ description: String, _ request: SimRequest,
        _ state: SimulatorState
    ) -> SimResponse {
        errorResponse(APIError(status: status, error: error, description: description), request, state)
    }

    private func tokenGrant(
        _ state: inout SimulatorState, _ request: SimRequest, params: [String: JSON], json: Bool,
        now: Double
    ) -> SimResponse {
        func text(_ name: String) -> String? {
            guard let value = params[name]?.stringValue, !value.isEmpty else { return nil }
            return value
        }
        guard let clientID = text("client_id"), let secret = text("client_secret") else {
            return oauthError(400, "invalid_request", "client_id and client_secret are required", request, state)
        }
        // A wrong API key: 401 invalid_client (RFC 6749 §5.2; Podio's exact status is not documented).
        guard clientID == config.clientID, secret == config.clientSecret else {
            return oauthError(401, "invalid_client", "Invalid client_id or client_secret", request, state)
        }
        if case .refused(let wait) = state.limiter.admit(
            identity: clientID, tier: "oauth", limit: Self.grantThrottle,
            window: config.rateWindow, now: now)
        {
            return rateLimitResponse(wait: wait, request, state)
        }
        guard let grantType = text("grant_type") else {
            return oauthError(400, "invalid_request", "grant_type is required", request, state)
        }
        let userGrant = TokenStore.Grant(
            identity: "\(clientID)|user:\(SeedData.userID)", clientID: clientID,
            refType: "user", refID: SeedData.userID, appID: nil)
        let grant: TokenStore.Grant
        switch grantType {
        case "password":
            guard let username = text("username"), let password = text("password") else {
                return oauthError(400, "invalid_request", "username and password are required", request, state)
            }
            guard username == config.username, password == config.password else {
                return oauthError(400, "invalid_grant", "Invalid user credentials", request, state)
            }
            if state.twoStepVerification {
                // The first step of the MFA flow: the password is right, but no token comes
                // before a second factor is verified (`/mfa/verify`, not served here).
                state.stats.twoStepChallenges += 1
                return .json(200, .obj(["server_nonce": .string(state.tokens.nonce())]))
            }
            grant = userGrant
        case "app":
            // JSON types are strict in v2: app_id must be a JSON integer there.
            let appID: Int?
            if json { appID = params["app_id"]?.intValue } else { appID = text("app_id").flatMap { Int($0) } }
            guard let appID, let appToken = text("app_token") else {
                return oauthError(400, "invalid_request", "app_id (integer) and app_token are required", request, state)
            }
            guard let index = state.appIndex[appID], state.apps[index].token == appToken else {
                return oauthError(400, "invalid_grant", "Invalid app credentials", request, state)
            }
            grant = TokenStore.Grant(
                identity: "\(clientID)|app:\(appID)", clientID: clientID, refType: "app", refID: appID,
                appID: appID)
        case "refresh_token":
            guard let refreshToken = text("refresh_token") else {
                return oauthError(400, "invalid_request", "refresh_token is required", request, state)
            }
            // Rotation (stricter reading): a refresh token works once.
            guard let previous = state.tokens.redeemRefresh(refreshToken, clientID: clientID, now: now) else {
                return oauthError(400, "invalid_grant", "Invalid refresh_token", request, state)
            }
            grant = previous
        case "authorization_code":
            guard let code = text("code"), let redirectURI = text("redirect_uri") else {
                return oauthError(400, "invalid_request", "code and redirect_uri are required", request, state)
            }
            guard state.tokens.redeemCode(code, clientID: clientID, redirectURI: redirectURI, now: now) != nil else {
                return oauthError(
                    400, "invalid_grant", "Invalid, expired or already used code, or redirect_uri mismatch",
                    request, state)
            }
            grant = userGrant
        default:
            return oauthError(400, "unsupported_grant_type", "Unsupported grant_type '\(grantType)'", request, state)
        }
        let pair = state.tokens.issue(grant, ttl: config.tokenTTL, now: now)
        state.stats.tokenGrants[grantType, default: 0] += 1
        return .json(
            200,
            .obj([
                "access_token": .string(pair.access),
                "token_type": .string("bearer"),
                "expires_in": .int(config.tokenTTL),
                "refresh_token": .string(pair.refresh),
                "scope": .string(Self.userScope),
                "ref": .obj(["type": .string(grant.refType), "id": .int(grant.refID)]),
            ]))
    }

    /// Auto-approves and redirects to `redirect_uri?code=…&state=…`.
    private func authorize(_ state: inout SimulatorState, _ request: SimRequest, now: Double) -> SimResponse {
        guard let items = request.queryItems else {
            return oauthError(400, "invalid_request", "Invalid query string", request, state)
        }
        func value(_ name: String) -> String? {
            items.last(where: { $0.0 == name }).map(\.1)
        }
        guard value("client_id") == config.clientID else {
            return oauthError(400, "invalid_client", "Unknown client_id", request, state)
        }
        guard value("response_type") == "code" else {
            return oauthError(400, "unsupported_response_type", "response_type must be code", request, state)
        }
        guard let redirectURI = value("redirect_uri"), !redirectURI.isEmpty else {
            return oauthError(400, "invalid_request", "redirect_uri is required", request, state)
        }
        let code = state.tokens.issueCode(clientID: config.clientID, redirectURI: redirectURI, now: now)
        var location = redirectURI + (redirectURI.contains("?") ? "&" : "?") + "code=\(code)"
        if let stateValue = value("state") {
            location += "&state=\(TextCoding.percentEncode(stateValue))"
        }
        return SimResponse(status: 302, headers: [("Location", location)], body: [])
    }
}
