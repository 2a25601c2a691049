import Foundation

/// One answer of `GET /comment/item/{item_id}/`: the body as received (a JSON array of
/// comments) and how many comments it holds. The comments themselves are unpacked in SQL.
public struct CommentPage: Sendable {
    public let body: Data
    public let count: Int

    public init(body: Data) throws {
        guard let array = try JSONSerialization.jsonObject(with: body) as? [Any] else {
            throw JSONScanner.Failure(offset: 0, reason: "the comments of an item are not a JSON array")
        }
        self.body = body
        count = array.count
    }
}
