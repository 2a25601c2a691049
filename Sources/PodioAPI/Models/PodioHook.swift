import Foundation

/// A webhook as `GET /hook/{ref_type}/{ref_id}/` lists it (podio-php `PodioHook`, podio-rb
/// `Hook`): its id, Podio's status (`active` once verified, `inactive` before and when Podio
/// deactivates it), the event type and the URL it posts to.
public struct PodioHook: Sendable, Equatable, Decodable {
    public var hookID: Int
    public var status: String?
    public var type: String
    public var url: String

    public init(hookID: Int, status: String?, type: String, url: String) {
        self.hookID = hookID
        self.status = status
        self.type = type
        self.url = url
    }

    /// Podio's word for a verified hook that delivers events.
    public static let activeStatus = "active"
    /// Podio's word for a hook not verified yet, or deactivated.
    public static let inactiveStatus = "inactive"

    /// Podio delivers this hook's events (it is verified and not deactivated).
    public var isActive: Bool { status == Self.activeStatus }

    enum CodingKeys: String, CodingKey {
        case hookID = "hook_id", status, type, url
    }
}
