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
    /// `app.app_id`: the app the item is in now (get-item carries it; nil where absent).
    public var appID: Int?
    /// The item's JSON exactly as received.
    public var raw: Data

    /// Reads the few members the engine needs straight from the item's bytes: the item is never
    /// decoded whole (its `fields`, most of its bytes, go to PostgreSQL as they are).
    init(raw: Data) throws {
        let members = try JSONScanner.objectMembers(raw)
        func slice(_ key: String, in members: [String: Range<Int>]) -> Data? {
            members[key].map { raw[$0] }
        }
        guard let id = slice("item_id", in: members).flatMap(Self.integer) else {
            throw JSONScanner.Failure(offset: 0, reason: "an item has no numeric \"item_id\"")
        }
        itemID = id
        appItemID = slice("app_item_id", in: members).flatMap(Self.integer)
        title = slice("title", in: members).flatMap(Self.string)
        var revisionMembers: [String: Range<Int>] = [:]
        if let range = members["current_revision"], raw[range.lowerBound] == UInt8(ascii: "{") {
            revisionMembers = try JSONScanner.objectMembers(raw[range])
        }
        revision =
            slice("revision", in: revisionMembers).flatMap(Self.integer)
            ?? slice("revision", in: members).flatMap(Self.integer) ?? 0
        lastEditOn = slice("created_on", in: revisionMembers).flatMap(Self.string).flatMap(PodioTime.parse)
        createdOn = slice("created_on", in: members).flatMap(Self.string).flatMap(PodioTime.parse)
        lastEventOn = slice("last_event_on", in: members).flatMap(Self.string).flatMap(PodioTime.parse)
        commentCount = slice("comment_count", in: members).flatMap(Self.integer)
        fileCount = slice("file_count", in: members).flatMap(Self.integer)
        if let range = members["app"], raw[range.lowerBound] == UInt8(ascii: "{") {
            appID = slice("app_id", in: try JSONScanner.objectMembers(raw[range])).flatMap(Self.integer)
        }
        self.raw = raw
    }

    /// A JSON integer (`null`, a string or a fraction: nil).
    static func integer(_ bytes: Data) -> Int? {
        Int(String(decoding: bytes, as: UTF8.self))
    }

    /// A JSON string, unescaped (`null` or another type: nil).
    static func string(_ bytes: Data) -> String? {
        guard bytes.first == UInt8(ascii: "\""), bytes.count >= 2 else { return nil }
        if !bytes.contains(UInt8(ascii: "\\")) {
            return String(decoding: bytes.dropFirst().dropLast(), as: UTF8.self)
        }
        return try? JSONDecoder().decode(String.self, from: bytes)
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
        var items: [PodioItem] = []
        for range in try JSONScanner.arrayElements(body, in: itemsRange) {
            items.append(try PodioItem(raw: body.subdata(in: range)))
        }
        self.items = items
        self.total = int("total") ?? items.count
        self.filtered = int("filtered") ?? self.total
        self.body = body
    }
}
