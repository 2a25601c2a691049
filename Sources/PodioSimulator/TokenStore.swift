/// OAuth state: access tokens, rotating refresh tokens and single-use authorization codes.
/// Times are monotonic seconds.
struct TokenStore {
    struct Grant: Sendable {
        /// Rate-limit identity: client_id + user, or client_id + app.
        var identity: String
        var clientID: String
        /// "user" or "app".
        var refType: String
        var refID: Int
        /// For app tokens: the only app they may see.
        var appID: Int?
    }

    struct AccessToken {
        var grant: Grant
        var expiresAt: Double
    }

    struct RefreshToken {
        var grant: Grant
        var expiresAt: Double
    }

    struct Code {
        var clientID: String
        var redirectURI: String
        var expiresAt: Double
    }

    /// Refresh tokens live 28 days (§2.4); authorization codes 60 seconds.
    static let refreshTTL: Double = 28 * 86_400
    static let codeTTL: Double = 60

    private(set) var access: [String: AccessToken] = [:]
    private var refresh: [String: RefreshToken] = [:]
    private var codes: [String: Code] = [:]
    private var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed, 0x70CE)
    }

    /// Issues a new token pair.
    mutating func issue(_ grant: Grant, ttl: Int, now: Double) -> (access: String, refresh: String) {
        let accessToken = random.hex(64)
        let refreshToken = random.hex(64)
        access[accessToken] = AccessToken(grant: grant, expiresAt: now + Double(ttl))
        refresh[refreshToken] = RefreshToken(grant: grant, expiresAt: now + Self.refreshTTL)
        return (accessToken, refreshToken)
    }

    /// The grant of a live access token, or nil when unknown or expired.
    func validate(_ token: String, now: Double) -> Grant? {
        guard let entry = access[token], entry.expiresAt > now else { return nil }
        return entry.grant
    }

    /// The `expireToken` fault: the token stops working now.
    mutating func expire(_ token: String, now: Double) {
        access[token]?.expiresAt = now
    }

    /// Uses up a refresh token (rotation: the old one is invalid from now on).
    mutating func redeemRefresh(_ token: String, clientID: String, now: Double) -> Grant? {
        guard let entry = refresh[token], entry.expiresAt > now, entry.grant.clientID == clientID else { return nil }
        refresh[token] = nil
        return entry.grant
    }

    mutating func issueCode(clientID: String, redirectURI: String, now: Double) -> String {
        let code = random.hex(40)
        codes[code] = Code(clientID: clientID, redirectURI: redirectURI, expiresAt: now + Self.codeTTL)
        return code
    }

    /// Uses up a code; nil when unknown, used, expired, of another client or another redirect_uri.
    mutating func redeemCode(_ code: String, clientID: String, redirectURI: String, now: Double) -> Code? {
        guard let entry = codes[code] else { return nil }
        codes[code] = nil  // single use, even when the redemption fails
        guard entry.expiresAt > now, entry.clientID == clientID, entry.redirectURI == redirectURI else { return nil }
        return entry
    }

    /// A two-step verification challenge's nonce.
    mutating func nonce() -> String {
        random.hex(32)
    }

    mutating func requestID() -> String {
        random.alphanumeric(8)
    }
}
