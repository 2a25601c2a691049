import Foundation

/// An app definition (`GET /app/{app_id}`), fields included, with its exact JSON.
public struct PodioApp: Sendable {
    public var appID: Int
    public var spaceID: Int?
    public var status: String
    public var urlLabel: String?
    /// `config.name` with HTML entities decoded (Podio sends `Leads &amp; Clients`).
    public var name: String
    public var itemName: String?
    public var currentRevision: Int?
    public var fields: [PodioAppField]
    public var raw: Data

    struct Wire: Decodable {
        struct Config: Decodable {
            var name: String?
            var item_name: String?
        }
        var app_id: Int
        var space_id: Int?
        var status: String?
        var url_label: String?
        var current_revision: Int?
        var config: Config?
        var fields: [PodioAppField]?
    }

    public init(raw: Data) throws {
        let wire = try JSONDecoder().decode(Wire.self, from: raw)
        appID = wire.app_id
        spaceID = wire.space_id
        status = wire.status ?? "active"
        urlLabel = wire.url_label
        name = HTMLEntities.decode(wire.config?.name ?? "app \(wire.app_id)")
        itemName = wire.config?.item_name.map(HTMLEntities.decode)
        currentRevision = wire.current_revision
        fields = wire.fields ?? []
        self.raw = raw
    }
}

/// A field definition of an app (deleted fields included, with status `deleted`).
public struct PodioAppField: Sendable, Decodable {
    public var fieldID: Int
    public var externalID: String?
    public var type: String
    public var label: String?
    public var status: String?

    enum CodingKeys: String, CodingKey {
        case fieldID = "field_id"
        case externalID = "external_id"
        case type, label, status
    }
}

/// An app as the app listings return it (no fields needed).
public struct PodioAppSummary: Sendable, Decodable {
    public var appID: Int
    public var spaceID: Int?
    public var status: String?
    public var urlLabel: String?
    public var name: String

    enum CodingKeys: String, CodingKey {
        case appID = "app_id"
        case spaceID = "space_id"
        case status
        case urlLabel = "url_label"
        case config
    }

    struct Config: Decodable { var name: String? }

    public init(appID: Int, spaceID: Int?, status: String?, urlLabel: String?, name: String) {
        self.appID = appID
        self.spaceID = spaceID
        self.status = status
        self.urlLabel = urlLabel
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        appID = try c.decode(Int.self, forKey: .appID)
        spaceID = try c.decodeIfPresent(Int.self, forKey: .spaceID)
        status = try c.decodeIfPresent(String.self, forKey: .status)
        urlLabel = try c.decodeIfPresent(String.self, forKey: .urlLabel)
        name = HTMLEntities.decode(try c.decodeIfPresent(Config.self, forKey: .config)?.name ?? "app \(appID)")
    }
}

/// An organization with its spaces (`GET /org/`).
public struct PodioOrganization: Sendable, Decodable {
    public var orgID: Int
    public var name: String?
    public var urlLabel: String?
    public var url: String?
    public var spaces: [PodioSpace]?

    enum CodingKeys: String, CodingKey {
        case orgID = "org_id"
        case urlLabel = "url_label"
        case name, url, spaces
    }
}

/// A workspace.
public struct PodioSpace: Sendable, Decodable {
    public var spaceID: Int
    public var name: String?
    public var orgID: Int?
    public var urlLabel: String?
    public var url: String?

    enum CodingKeys: String, CodingKey {
        case spaceID = "space_id"
        case orgID = "org_id"
        case urlLabel = "url_label"
        case name, url
    }
}
