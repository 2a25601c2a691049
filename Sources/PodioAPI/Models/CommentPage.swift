import Foundation

/// One answer of `GET /comment/item/{item_id}/`: the body as received (a JSON array of
/// comments), how many comments it holds and their ids (what paging compares: a page that
/// brings no new id ends it). The comments themselves are unpacked in SQL.
public struct CommentPage: Sendable {
    public let body: Data
    public let count: Int
    /// The `comment_id` of each comment that has a numeric one, in the answer's order.
    public let commentIDs: [Int]

    public init(body: Data) throws {
        guard let array = try JSONSerialization.jsonObject(with: body) as? [Any] else {
            throw JSONScanner.Failure(offset: 0, reason: "the comments of an item are not a JSON array")
        }
        self.body = body
        count = array.count
        commentIDs = array.compactMap { element in
            switch (element as? [String: Any])?["comment_id"] {
            case let number as NSNumber: number.intValue
            case let text as String: Int(text)
            default: nil
            }
        }
    }
}
