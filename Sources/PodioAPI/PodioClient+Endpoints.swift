import Foundation

extension PodioEndpoint {
    public static let organizations = PodioEndpoint("GET /org/", defaultTier: .general)
    public static let spacesOfOrganization = PodioEndpoint("GET /org/{org_id}/space/", defaultTier: .general)
    public static let space = PodioEndpoint("GET /space/{space_id}", defaultTier: .general)
    public static let allApps = PodioEndpoint("GET /app/", defaultTier: .rateLimited)
    public static let appsOfSpace = PodioEndpoint("GET /app/space/{space_id}/", defaultTier: .rateLimited)
    public static let app = PodioEndpoint("GET /app/{app_id}", defaultTier: .general)
    public static let filterItems = PodioEndpoint("POST /item/app/{app_id}/filter/", defaultTier: .rateLimited)
    public static let itemCount = PodioEndpoint("GET /item/app/{app_id}/count", defaultTier: .rateLimited)
    public static let item = PodioEndpoint("GET /item/{item_id}", defaultTier: .general)
    public static let itemComments = PodioEndpoint("GET /comment/item/{item_id}/", defaultTier: .general)
    public static let fileRaw = PodioEndpoint("GET /file/{file_id}/raw", defaultTier: .general)
    public static let itemRevisions = PodioEndpoint("GET /item/{item_id}/revision/", defaultTier: .general)
    public static let itemRevisionDiff = PodioEndpoint(
        "GET /item/{item_id}/revision/{revision_from}/{revision_to}", defaultTier: .general)
}

extension PodioClient {
    /// `GET /org/`: the organizations of the user, with their spaces.
    public func organizations() async throws -> [PodioOrganization] {
        try await request(.organizations, method: "GET", path: "/org/") {
            try JSONDecoder().decode([PodioOrganization].self, from: $0)
        }
    }

    /// `GET /org/{org_id}/space/`.
    public func spaces(organizationID: Int) async throws -> [PodioSpace] {
        try await request(.spacesOfOrganization, method: "GET", path: "/org/\(organizationID)/space/") {
            try JSONDecoder().decode([PodioSpace].self, from: $0)
        }
    }

    /// `GET /space/{space_id}`.
    public func space(_ spaceID: Int) async throws -> PodioSpace {
        try await request(.space, method: "GET", path: "/space/\(spaceID)") {
            try JSONDecoder().decode(PodioSpace.self, from: $0)
        }
    }

    /// `GET /app/`: apps the user can see. Undocumented (podio-rb's `find_all`), and nothing says
    /// it lists every app; the engine lists apps by `organizations()` and `apps(spaceID:)`.
    public func allApps() async throws -> [PodioAppSummary] {
        try await request(.allApps, method: "GET", path: "/app/") {
            try JSONDecoder().decode([PodioAppSummary].self, from: $0)
        }
    }

    /// `GET /app/space/{space_id}/`: every app of the space in one answer (Podio documents no
    /// limit or offset for it, and no official client sends one), inactive apps included by
    /// default (a mirror wants them).
    public func apps(spaceID: Int, includeInactive: Bool = true) async throws -> [PodioAppSummary] {
        try await request(
            .appsOfSpace, method: "GET", path: "/app/space/\(spaceID)/",
            query: [("include_inactive", includeInactive ? "1" : "0")]
        ) { try JSONDecoder().decode([PodioAppSummary].self, from: $0) }
    }

    /// `GET /app/{app_id}`: the definition with every field, deleted ones included.
    public func app(_ appID: Int) async throws -> PodioApp {
        try await request(.app, method: "GET", path: "/app/\(appID)") { try PodioApp(raw: $0) }
    }

    /// `POST /item/app/{app_id}/filter/`; `micro` asks for the ID-only view (`items.view(micro)`),
    /// `files` for each item's `files` (`items.fields(files)`: filter results leave them out
    /// unless asked, reference §12).
    public func filterItems(appID: Int, _ filter: ItemFilter, micro: Bool = false, files: Bool = false) async throws
        -> ItemPage
    {
        try await request(
            .filterItems, method: "POST", path: "/item/app/\(appID)/filter/",
            query: micro ? [("fields", "items.view(micro)")] : files ? [("fields", "items.fields(files)")] : [],
            body: filter.jsonBody()
        ) { try ItemPage(body: $0) }
    }

    /// `GET /item/app/{app_id}/count`.
    public func itemCount(appID: Int) async throws -> Int {
        struct Count: Decodable { var count: Int }
        return try await request(.itemCount, method: "GET", path: "/item/app/\(appID)/count") {
            try JSONDecoder().decode(Count.self, from: $0).count
        }
    }

    /// `GET /comment/item/{item_id}/`: one page of an item's comments (a JSON array, oldest
    /// first), kept as received. `limit` and `offset` page it (podio-js sends them; Podio
    /// documents neither a default nor a maximum page size, nor that `offset` is honoured), so
    /// callers read on until a page brings no new `comment_id` or the item's `comment_count` is
    /// reached (`CommentReader.readItemComments`).
    public func comments(itemID: Int, limit: Int, offset: Int) async throws -> CommentPage {
        try await request(
            .itemComments, method: "GET", path: "/comment/item/\(itemID)/",
            query: [("limit", String(limit)), ("offset", String(offset))]
        ) { try CommentPage(body: $0) }
    }

    /// `GET /file/{file_id}/raw`: the file's bytes (podio-rb's `FileAttachment` reads them there;
    /// the file's `link` on files.podio.com serves the same with the token). A redirect is not
    /// followed (the transport follows none: the request carries the token): it is an error
    /// naming the target's host.
    public func downloadFile(_ fileID: Int) async throws -> Data {
        try await request(.fileRaw, method: "GET", path: "/file/\(fileID)/raw") { $0 }
    }

    /// `GET /item/{item_id}/revision/`: every revision of the item (`revision` 0 is its creation),
    /// each with `item_revision_id`, `type`, `created_on`, `created_by`, `created_via`,
    /// `app_revision` (podio-php `PodioItemRevision`, podio-rb `ItemRevision`).
    public func itemRevisions(itemID: Int) async throws -> JSONArrayAnswer {
        try await request(.itemRevisions, method: "GET", path: "/item/\(itemID)/revision/") {
            try JSONArrayAnswer(body: $0, what: "the revisions of an item")
        }
    }

    /// `GET /item/{item_id}/revision/{from}/{to}`: the fields whose values differ between two
    /// revisions, each `{field_id, type, external_id, label, config, from, to}` (podio-php
    /// `PodioItemDiff`, podio-rb `ItemDiff`).
    public func itemRevisionDiff(itemID: Int, from: Int, to: Int) async throws -> JSONArrayAnswer {
        try await request(.itemRevisionDiff, method: "GET", path: "/item/\(itemID)/revision/\(from)/\(to)") {
            try JSONArrayAnswer(body: $0, what: "a revision difference")
        }
    }

    /// `GET /item/{item_id}` without marking the user's notifications as read.
    public func item(_ itemID: Int) async throws -> PodioItem {
        try await request(.item, method: "GET", path: "/item/\(itemID)", query: [("mark_as_viewed", "0")]) {
            try PodioItem(raw: $0)
        }
    }
}
