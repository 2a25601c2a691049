import Foundation
import PodioAPI

/// The items of a page body, read in Swift once: cut into each item's bytes (`JSONScanner`),
/// its staged columns read from its top-level members, its fields read into `JSONValue`s
/// only when its row is written. `ord` is the item's position in `items` from 1.
struct PageItems {
    private let body: Data
    private let ranges: [Range<Int>]
    /// Each item's top-level members (empty for an item that is not an object).
    private let members: [[String: Range<Int>]]

    init(body: String) throws {
        let data = Data(body.utf8)
        let members = try JSONScanner.objectMembers(data)
        guard let items = members["items"] else {
            throw MirrorError(.database, "the Podio page has no \"items\" array")
        }
        self.body = data
        self.ranges = try JSONScanner.arrayElements(data, in: items)
        // Not an object: every column NULL (the `->>` of SQL), which the upsert refuses.
        self.members = ranges.map { (try? JSONScanner.objectMembers(data[$0])) ?? [:] }
    }

    var count: Int { ranges.count }

    /// The row of `pm_page` for the item at `ord` (`PageSQL.createStage`), as `COPY` text: the
    /// expressions the page's SQL staged it with, the same casts done by `COPY`'s input (an
    /// `item_id` that is no number, or a revision past `integer`, fails the page as before).
    func stageRow(ord: Int) throws -> [String?] {
        let item = body[ranges[ord - 1]]
        let members = self.members[ord - 1]
        func member(_ key: String) throws -> JSONValue? {
            try members[key].map { try JSONReader.value(body[$0]) }
        }
        let revision = try member("current_revision")
        let topRevision = NumericText.bigint(try member("revision")?.text)
        let revisionNumber = NumericText.bigint(revision?["revision"]?.text) ?? topRevision ?? 0
        func utc(_ value: JSONValue?) -> String? {
            ValueTyper.utc(value?.text).map { $0.date + " " + $0.time + "+00" }
        }
        return [
            String(ord), try member("item_id")?.text,
            NumericText.bigint(try member("app_item_id")?.text).map { String($0) },
            try member("title")?.text, String(revisionNumber), utc(try member("created_on")),
            utc(revision?["created_on"]), utc(try member("last_event_on")),
            NumericText.bigint(try member("comment_count")?.text).map { String($0) },
            NumericText.bigint(try member("file_count")?.text).map { String($0) },
            String(decoding: item, as: UTF8.self),
        ]
    }

    /// `podio.field_values(item)`: each field's `values` keyed by the text of its `field_id`
    /// (the last of duplicates; a field without `values` has JSON null).
    func fieldValues(ord: Int) throws -> [String: JSONValue] {
        guard ranges.indices.contains(ord - 1) else {
            throw MirrorError(.database, "item \(ord) of the page is missing from its body")
        }
        guard let fields = members[ord - 1]["fields"] else { return [:] }
        return try JSONReader.fieldValues(body[fields])
    }
}
