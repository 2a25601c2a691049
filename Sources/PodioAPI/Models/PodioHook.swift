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

    enum CodingKeys: String, CodingKey {
        case hookID = "hook_id", status, type, url
    }
}
