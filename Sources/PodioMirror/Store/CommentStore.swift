import Foundation
import LibPQ

/// The comments (`podio.comments`, `podio.comment_reads`): which items' comments to read, and
/// what a read found. The statements are `CommentSQL`.
public struct CommentStore: StoreSlice {
    public let db: PGConnection

    public init(db: PGConnection) {
        self.db = db
    }

    /// What writing comments changed.
    public struct CommentChange: Sendable, Equatable {
        public var added = 0
        public var changed = 0
        public var deleted = 0
    }

    /// Items of the app whose comments must be read (their `comment_count` is above zero),
    /// with that count, but for those whose last read failed and that are not due again at
    /// `now`; items whose count fell to zero are settled here without a call (their comments
    /// marked deleted), in a transaction of their own.
    public func itemsWithCommentsPending(appID: Int, now: Date) throws -> (
        read: [(itemID: Int, commentCount: Int)], settled: CommentChange
    ) {
        try db.withTransaction { db in
            let rows = try db.query(CommentSQL.pending, [appID, now]).rows
            let empty = rows.filter { ($0.int("comment_count") ?? 0) == 0 }.compactMap { $0.int("item_id") }
            var settled = CommentChange()
            if !empty.isEmpty {
                settled.deleted = try db.query(CommentSQL.settleWithoutCall, [empty]).first?.int("deleted") ?? 0
            }
            let read = rows.compactMap { row -> (itemID: Int, commentCount: Int)? in
                guard let id = row.int("item_id"), let count = row.int("comment_count"), count > 0 else { return nil }
                return (id, count)
            }
            return (read, settled)
        }
    }

    /// The item's `comment_count` as the mirror last read the item (nil: not in the mirror).
    public func commentCount(itemID: Int) throws -> Int? {
        guard
            let row = try db.query(
                "SELECT coalesce(comment_count, 0) AS n FROM podio.items WHERE item_id = $1", [itemID]
            ).first
        else { return nil }
        return row.int("n")
    }

    /// Writes the answers of `GET /comment/item/{item_id}/` for one item, in one transaction;
    /// `complete`: the read saw at least the item's `comment_count` (only then are comments
    /// that were not listed marked deleted).
    public func writeComments(itemID: Int, appID: Int, pages: [Data], complete: Bool) throws -> CommentChange {
        let body = "[" + pages.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",") + "]"
        return try db.withTransaction { db in
            let row = try db.query(CommentSQL.write, [itemID, appID, body, complete]).first
            return CommentChange(
                added: row?.int("added") ?? 0, changed: row?.int("changed") ?? 0, deleted: row?.int("deleted") ?? 0)
        }
    }

    /// Live items, in all apps, whose comments wait for a read.
    public func commentsPendingCount() throws -> Int {
        try db.query(CommentSQL.pendingCount).first?.int("n") ?? 0
    }
}
