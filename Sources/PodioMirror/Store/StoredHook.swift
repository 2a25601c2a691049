import Foundation
import PodioAPI

/// A hook as the mirror recorded it (`podio.hooks`).
public struct StoredHook: Sendable, Equatable {
    public var hookID: Int
    public var appID: Int
    public var type: String
    /// The public base URL given to `hooks install` (no secret in it).
    public var url: String
    /// Podio's status as last seen: `active` or `inactive`.
    public var status: String
    public var createdAt: Date?
    public var verifyRequestedAt: Date?
    public var verifiedAt: Date?
    public var checkedAt: Date?
    public var lastEventAt: Date?
    public var lastError: String?
    /// `verify/request` calls made since the hook last verified (its back-off).
    public var verifyAttempts: Int = 0
    /// The earliest time the next `verify/request` may be made; nil: due now.
    public var nextVerifyAt: Date?

    /// Podio last said it delivers this hook's events.
    public var isActive: Bool { status == PodioHook.activeStatus }
}
