import Foundation

/// An answer that must be a JSON array (`GET /item/{id}/revision/`, a revision diff), kept as
/// received with the number of its elements; the elements are unpacked in SQL.
public struct JSONArrayAnswer: Sendable {
    public let body: Data
    public let count: Int

    public init(body: Data, what: String) throws {
        guard let array = try JSONSerialization.jsonObject(with: body) as? [Any] else {
            throw JSONScanner.Failure(offset: 0, reason: "\(what) is not a JSON array")
        }
        self.body = body
        count = array.count
    }
}
