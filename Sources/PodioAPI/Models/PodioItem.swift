import Foundation

/// An item as the filter or get-item endpoint returned it: the columns the engine needs, and
/// the item's exact JSON bytes.
public struct PodioItem: Sendable {
    public var itemID: Int
    public var appItemID: Int?
    public var title: String?
    /// `current_revision.revision` (the filter's short view has no top-level `revision`).
    public var revision: Int
    /// `current_revision.created_on`: Podio has no `last_edit_on` property on items.
    public var lastEditOn: Date?
    public var createdOn: Date?
    public var lastEventOn: Date?
    public var commentCount: Int?
    public var fileCount: Int?
    /// The item's JSON exactly as received.
    public var raw: Data

    /// The item's fields with their values, decoded without loss.
    public func fields() throws -> [PodioItemField] {
        struct Wrapper: Decodable { var fields: [PodioItemField]? }
        return try JSONDecoder().decode(Wrapper.self, from: raw).fields ?? []
    }

    struct Core: Decodable {
        struct Revision: Decodable {
            var revision: Int?
            var created_on: String?
        }
        var item_id: Int
        var app_item_id: Int?
        var title: String?
        var revision: Int?
        var current_revision: Revision?
        var created_on: String?
        var last_event_on: String?
        var comment_count: Int?
        var file_count: Int?
    }

    init(raw: Data, decoder: JSONDecoder) throws {
        let core = try decoder.decode(Core.self, from: raw)
        itemID = core.item_id
        appItemID = core.app_item_id
        title = core.title
        revision = core.current_revision?.revision ?? core.revision ?? 0
        lastEditOn = core.current_revision?.created_on.flatMap(PodioTime.parse)
        createdOn = core.created_on.flatMap(PodioTime.parse)
        lastEventOn = core.last_event_on.flatMap(PodioTime.parse)
        commentCount = core.comment_count
        fileCount = core.file_count
        self.raw = raw
    }
}

/// One field of an item with its values.
public struct PodioItemField: Sendable, Decodable {
    public var fieldID: Int
    public var externalID: String?
    public var type: String
    public var label: String?
    public var values: [JSONValue]

    enum CodingKeys: String, CodingKey {
        case fieldID = "field_id"
        case externalID = "external_id"
        case type, label, values
    }

    /// Numbers, money and numeric calculations as exact decimals.
    public var decimals: [Decimal] { values.compactMap { $0["value"]?.decimal } }
    /// Text-like values (`value` strings).
    public var strings: [String] { values.compactMap { $0["value"]?.string } }
    /// Timed date starts in UTC (`start_utc`).
    public var startDates: [Date] { values.compactMap { $0["start_utc"]?.string.flatMap(PodioTime.parse) } }
    /// Referenced ids: category option ids, item ids, profile ids, file ids.
    public var referencedIDs: [Int] {
        values.compactMap { v in
            let inner = v["value"]
            return inner?["id"]?.int ?? inner?["item_id"]?.int ?? inner?["profile_id"]?.int ?? inner?["file_id"]?.int
        }
    }
}

/// One page of `POST /item/app/{app_id}/filter/`.
public struct ItemPage: Sendable {
    /// Items in the app.
    public var total: Int
    /// Items matching the filter.
    public var filtered: Int
    public var items: [PodioItem]
    /// The response body as received (the engine hands it to PostgreSQL whole).
    public var body: Data

    /// Decodes a page, cutting `items` into each item's exact bytes.
    public init(body: Data) throws {
        let members = try JSONScanner.objectMembers(body)
        guard let itemsRange = members["items"] else {
            throw JSONScanner.Failure(offset: 0, reason: "the page has no \"items\"")
        }
        func int(_ key: String) -> Int? {
            members[key].flatMap { Int(String(decoding: body[$0], as: UTF8.self)) }
        }
        let decoder = JSONDecoder()
        var items: [PodioItem] = []
        for range in try JSONScanner.arrayElements(body, in: itemsRange) {
            items.append(try PodioItem(raw: body.subdata(in: range), decoder: decoder))
        }
        self.items = items
        self.total = int("total") ?? items.count
        self.filtered = int("filtered") ?? self.total
        self.body = body
    }
}
