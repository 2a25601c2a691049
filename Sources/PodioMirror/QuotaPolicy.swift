/// The quota the ledger enforces, per credential and tier.
public struct QuotaPolicy: Sendable, Equatable {
    /// Calls per window for rate-limited operations (`PODIO_RATE_LIMIT`, default 250).
    public var rateLimited: Int
    /// Calls per window for other operations (`PODIO_RATE_LIMIT_GENERAL`, default 1000).
    public var general: Int
    /// The window in seconds (`PODIO_RATE_WINDOW`, default one hour).
    public var window: Double
    /// The share of each quota left unused for other tools and people (default 5%).
    public var reserve: Double
    /// The pause after a 420 whose text names no wait, in seconds.
    public var coolDown: Double

    public init(
        rateLimited: Int = 250, general: Int = 1000, window: Double = 3600, reserve: Double = 0.05,
        coolDown: Double? = nil
    ) {
        self.rateLimited = rateLimited
        self.general = general
        self.window = window
        self.reserve = reserve
        self.coolDown = coolDown ?? min(window, 300)
    }

    public func limit(_ tier: TierName) -> Int {
        tier == .rateLimited ? rateLimited : general
    }

    /// Calls the ledger allows in a window: the quota less the reserve, at least one.
    public func allowed(_ tier: TierName) -> Int {
        let quota = limit(tier)
        return max(1, quota - Int((Double(quota) * reserve).rounded(.up)))
    }

    /// The tier a server's `X-Rate-Limit-Limit` value belongs to, or nil when the value says
    /// nothing about it (zero, or far above any quota: a server without limits).
    public func tier(forLimit limit: Int) -> TierName? {
        guard limit > 0 else { return nil }
        if limit <= (rateLimited + general) / 2 { return .rateLimited }
        if limit <= max(general, rateLimited) * 20 { return .general }
        return nil
    }
}
