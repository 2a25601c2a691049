import Foundation
import PodioAPI

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

    public func limit(_ tier: QuotaTier) -> Int {
        tier == .rateLimited ? rateLimited : general
    }

    /// Calls the ledger allows in a window: the quota less the reserve, at least one.
    public func allowed(_ tier: QuotaTier) -> Int {
        allowed(quota: limit(tier))
    }

    /// Calls the ledger allows in a window of a tier whose quota is `quota` (the configured limit,
    /// or the server's when that is lower): the quota less the reserve, at least one.
    public func allowed(quota: Int) -> Int {
        max(1, quota - Int((Double(quota) * reserve).rounded(.up)))
    }

    /// What an `X-Rate-Limit-Limit` value says.
    public enum LimitReading: Sendable, Equatable {
        /// Nothing (absent, zero or negative): the call's tier stays unknown.
        case none
        /// Far above any quota (20 times the larger configured limit): the server does not limit
        /// these calls, whatever their tier; the value teaches nothing about tiers.
        case unlimited
        /// A ceiling: the call's tier has this quota on the server.
        case limit(Int)
    }

    public func reading(_ limit: Int?) -> LimitReading {
        guard let limit, limit > 0 else { return .none }
        return limit > max(general, rateLimited) * 20 ? .unlimited : .limit(limit)
    }

    /// The tier whose calls answered with `X-Rate-Limit-Limit: limit`, given the limits the
    /// other endpoints showed (`held`, per tier, the endpoint itself left out).
    ///
    /// Podio has two tiers and names neither in its answers: the limit is the only clue, and the
    /// server's limits need not be the configured ones (support raises them; a test server has
    /// others). So the name is a guess, and the ledger is safe whatever it guesses, by two rules:
    /// the calls that show one limit all count in one tier (1. below: a tier of the server is
    /// never split over the ledger's two), and a tier's quota is never above the lowest limit its
    /// endpoints showed (`QuotaLedger.quotas`). A guess that puts both of the server's tiers in one
    /// of the ledger's costs throughput, never a 420. The rules, in order:
    /// 1. a limit another endpoint showed: that endpoint's tier;
    /// 2. the configured limit of exactly one tier, where no other limit was seen: that tier;
    /// 3. exactly one tier where no limit was seen yet: that tier (a second, different limit
    ///    belongs to the server's other tier);
    /// 4. else the tier whose configured limit is nearest (by ratio), the rate-limited one on a tie.
    /// The tier one `X-Rate-Limit-Limit` value suggests on its own, with no other endpoint's
    /// limit known (`check` names each endpoint's tier this way), or nil when the value says
    /// nothing of tiers (absent, zero, or a server without limits).
    public func tier(forLimit limit: Int) -> QuotaTier? {
        guard case .limit(let limit) = reading(limit) else { return nil }
        return tier(forLimit: limit, held: [:])
    }

    public func tier(forLimit limit: Int, held: [QuotaTier: Set<Int>]) -> QuotaTier {
        let tiers: [QuotaTier] = [.rateLimited, .general]
        if let tier = tiers.first(where: { held[$0]?.contains(limit) == true }) { return tier }
        let empty = tiers.filter { held[$0]?.isEmpty ?? true }
        let matching = tiers.filter { self.limit($0) == limit }
        if matching.count == 1, empty.contains(matching[0]) { return matching[0] }
        if empty.count == 1 { return empty[0] }
        func distance(_ tier: QuotaTier) -> Double { abs(log(Double(limit) / Double(max(1, self.limit(tier))))) }
        return distance(.general) < distance(.rateLimited) ? .general : .rateLimited
    }
}
