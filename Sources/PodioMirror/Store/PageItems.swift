import Foundation
import PodioAPI

/// The items of a page body, read in Swift: cut once into each item's bytes (`JSONScanner`),
/// an item read into a `JSONValue` only when its row is written. `ord` is the item's position
/// in `items` from 1, as `pm_page.ord` (`PageSQL.stage`, `WITH ORDINALITY`).
struct PageItems {
    private let body: Data
    private let ranges: [Range<Int>]

    init(body: String) throws {
        let data = Data(body.utf8)
        let members = try JSONScanner.objectMembers(data)
        guard let items = members["items"] else {
            throw MirrorError(.database, "the Podio page has no \"items\" array")
        }
        self.body = data
        self.ranges = try JSONScanner.arrayElements(data, in: items)
    }

    /// `podio.field_values(item)`: each field's `values` keyed by the text of its `field_id`
    /// (the last of duplicates; a field without `values` has JSON null).
    func fieldValues(ord: Int) throws -> [String: JSONValue] {
        guard ranges.indices.contains(ord - 1) else {
            throw MirrorError(.database, "item \(ord) of the page is missing from its body")
        }
        let item = try JSONReader.value(body[ranges[ord - 1]])
        var map: [String: JSONValue] = [:]
        guard case .array(let fields)? = item["fields"] else { return map }
        for field in fields {
            guard let key = field["field_id"]?.text else { continue }
            map[key] = field["values"] ?? .null
        }
        return map
    }
}
