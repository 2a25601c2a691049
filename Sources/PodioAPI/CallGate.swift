/// The two quota tiers of Podio.
public enum QuotaTier: String, Sendable, Codable, CaseIterable {
    /// "Rate limited" operations (item filter, count, app listings): 250 an hour.
    case rateLimited = "rate_limited"
    /// Every other call: 1,000 an hour.
    case general
}

/// What is being called, as the quota ledger sees it.
public struct PodioEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Method and path template, e.g. `POST /item/app/{app_id}/filter/`.
    public var name: String
    /// The tier to assume until the server's `X-Rate-Limit-Limit` says otherwise.
    public var defaultTier: QuotaTier

    public init(_ name: String, defaultTier: QuotaTier) {
        self.name = name
        self.defaultTier = defaultTier
    }

    public var description: String { name }
}

/// The rate-limit headers of one response (absent headers are nil).
public struct RateLimitHeaders: Sendable, Equatable {
    public var limit: Int?
    public var remaining: Int?

    public init(limit: Int?, remaining: Int?) {
        self.limit = limit
        self.remaining = remaining
    }
}

/// Permission for one call, handed back with its outcome.
public struct CallPermit: Sendable {
    public var id: Int64?
    public var endpoint: PodioEndpoint
    public var tier: QuotaTier
    public var identity: String

    public init(id: Int64?, endpoint: PodioEndpoint, tier: QuotaTier, identity: String) {
        self.id = id
        self.endpoint = endpoint
        self.tier = tier
        self.identity = identity
    }
}

/// Asked before every API call and told its outcome: the quota ledger implements it.
public protocol CallGate: Sendable {
    /// Returns when the call may be made; throws when it may not be made in time.
    func acquire(_ endpoint: PodioEndpoint, identity: String) async throws -> CallPermit
    /// Reports the answer: HTTP status (nil when none came), rate-limit headers, the wait a 420 named.
    func complete(_ permit: CallPermit, status: Int?, headers: RateLimitHeaders, retryAfterSeconds: Int?) async
}

/// A gate that lets every call through (tests of the client alone, the simulator's tools).
public struct OpenGate: CallGate {
    public init() {}

    public func acquire(_ endpoint: PodioEndpoint, identity: String) async throws -> CallPermit {
        CallPermit(id: nil, endpoint: endpoint, tier: endpoint.defaultTier, identity: identity)
    }

    public func complete(_ permit: CallPermit, status: Int?, headers: RateLimitHeaders, retryAfterSeconds: Int?) async {
    }
}
