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

    public init(accessToken: String, refreshToken: String?, expiresAt: Double, refType: String? = nil, refID: Int? = nil) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresAt = expiresAt
        self.refType = refType
        self.refID = refID
    }
}

/// Where token pairs are kept between runs. Refresh tokens rotate, so every new pair must be
/// saved before it is used (the engine keeps them in PostgreSQL).
public protocol TokenStore: Sendable {
    func load(identity: String) async throws -> OAuthToken?
    func save(_ token: OAuthToken, identity: String) async throws
}
