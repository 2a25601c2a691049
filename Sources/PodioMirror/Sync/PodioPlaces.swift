import Foundation
import PodioAPI

/// The organizations and spaces the app list's walk went through (`podio.orgs`, `podio.spaces`).
public struct PodioPlaces: Sendable {
    public var orgs: [PodioOrganization] = []
    public var spaces: [PodioSpace] = []

    public init(orgs: [PodioOrganization] = [], spaces: [PodioSpace] = []) {
        self.orgs = orgs
        self.spaces = spaces
    }

    /// The organizations as a JSON array of rows (`jsonb_to_recordset`), names decoded.
    var orgsJSON: String {
        Self.json(
            orgs.map { org in
                [
                    "org_id": org.orgID, "name": org.name.map(HTMLEntities.decode), "url_label": org.urlLabel,
                    "url": org.url,
                ]
            })
    }

    /// The spaces as a JSON array of rows, names decoded.
    var spacesJSON: String {
        Self.json(
            spaces.map { space in
                [
                    "space_id": space.spaceID, "org_id": space.orgID, "name": space.name.map(HTMLEntities.decode),
                    "url_label": space.urlLabel, "url": space.url,
                ]
            })
    }

    static func json(_ rows: [[String: Any?]]) -> String {
        let objects = rows.map { row in row.compactMapValues { $0 } }
        guard let data = try? JSONSerialization.data(withJSONObject: objects) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }
}
