import Foundation
import PodioAPI

/// One tier's use of the quota.
public struct QuotaUsage: Sendable, Codable {
    public var tier: QuotaTier
    /// Calls in the window: the ledger's (those booked on both tiers count in each) and the
    /// ones the server counted for someone else (`external`).
    public var used: Int
    /// The tier's quota: the configured limit, or the server's when that is lower.
    public var quota: Int
    /// The quota less the reserve.
    public var allowed: Int
    public var oldestLeavesAt: Date?
    /// Calls the server counted that the ledger did not make, still in the window.
    public var external: Int = 0
    /// When the identity may call again after a 420 (every tier waits), if it is paused.
    public var pausedUntil: Date?
}
