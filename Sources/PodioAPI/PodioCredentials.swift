/// An API key: the client id and secret from Podio's account settings.
public struct PodioAPIKey: Sendable {
    public var clientID: String
    public var clientSecret: String

    public init(clientID: String, clientSecret: String) {
        self.clientID = clientID
        self.clientSecret = clientSecret
    }
}

/// How the client obtains tokens.
public enum PodioCredentials: Sendable {
    /// Username and password flow (a user's identity).
    case password(username: String, password: String)
    /// App authentication: the token sees only this app.
    case app(appID: Int, appToken: String)
    /// Tokens stored by the authorization-code flow (`podio-mirror login`); refreshed, never re-granted.
    case stored

    /// A non-secret key naming this identity: the quota ledger and the token store use it.
    public func identity(clientID: String) -> String {
        switch self {
        case .password(let username, _): "user:\(clientID):\(username.lowercased())"
        case .app(let appID, _): "app:\(clientID):\(appID)"
        case .stored: "user:\(clientID):login"
        }
    }

    /// The secrets this credential carries, for redaction.
    var secrets: [String] {
        switch self {
        case .password(_, let password): [password]
        case .app(_, let token): [token]
        case .stored: []
        }
    }
}

/// An OAuth2 token pair with its expiry.
public struct OAuthToken: Sendable, Equatable {
    public var accessToken: String
    public var refreshToken: String?
    public var expiresAt: Double  // seconds since 1970
    public var refType: String?
    public var refID: Int?

    public init(
        accessToken: String, refreshToken: String?, expiresAt: Double, refType: String? = nil, refID: Int? = nil
    ) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
        self.refType = refType
        self.refID = refID
    }
}

/// How a new token is asked of Podio's token endpoint.
public enum TokenRenewal: Sendable, Equatable {
    /// With the refresh token of the pair in hand.
    case refresh
    /// With the configured credentials (password or app grant): what Podio throttles as logins.
    case grant
}

/// Where token pairs are kept between runs. Refresh tokens rotate, so every new pair must be
/// saved before it is used (the engine keeps them in PostgreSQL).
public protocol TokenStore: Sendable {
    func load(identity: String) async throws -> OAuthToken?
    func save(_ token: OAuthToken, identity: String) async throws
    /// Renews the token of `identity`: `request` asks Podio's token endpoint, and the store
    /// saves what it answers before returning it. A store that several processes share may
    /// instead return a token another process stored meanwhile (`replacing` is the token this
    /// process gave up on, nil when it had none), or throw rather than ask Podio now (its token
    /// endpoint has its own throttle). The default asks and saves.
    func renew(
        identity: String, kind: TokenRenewal, replacing current: OAuthToken?,
        _ request: @escaping @Sendable () async throws -> OAuthToken
    ) async throws -> OAuthToken
}

extension TokenStore {
    public func renew(
        identity: String, kind: TokenRenewal, replacing current: OAuthToken?,
        _ request: @escaping @Sendable () async throws -> OAuthToken
    ) async throws -> OAuthToken {
        let token = try await request()
        try await save(token, identity: identity)
        return token
    }
}
