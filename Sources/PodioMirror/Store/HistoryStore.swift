import Foundation
import LibPQ

/// Deep history (`podio.item_revisions`, `podio.item_field_changes`,
/// `podio.item_revision_reads`): its lock, the work still to read, and what each read found.
/// The statements are `DeepHistorySQL`.
public struct HistoryStore: StoreSlice {
    public let db: PGConnection

    public init(db: PGConnection) {
        self.db = db
    }

    /// An item whose deep history is still to read, and the calls that takes.
    public struct RevisionWork: Sendable, Equatable {
        public var itemID: Int
        public var appID: Int
        /// The item's revision in `podio.items` when the work was planned.
        public var revision: Int
        public var needsList: Bool
        public var calls: Int
    }

    /// Takes the deep history lock (false: another run is reading deep history).
    public func tryLockDeepHistory() throws -> Bool {
        try db.tryAdvisoryLock(LockKeys.deepHistory)
    }

    public func unlockDeepHistory() throws {
        try db.advisoryUnlock(LockKeys.deepHistory)
    }

    /// Writes the one revision of never-edited items from their `initial_revision` (no call);
    /// returns how many items were settled so.
    public func settleInitialRevisions(apps: [Int]) throws -> Int {
        guard !apps.isEmpty else { return 0 }
        return try db.withTransaction { db in
            try db.query(DeepHistorySQL.settleInitial, [apps]).first?.int("settled") ?? 0
        }
    }

    /// Live items of `apps` whose revisions or diffs are still to read, in item-id order, but for
    /// those whose last read failed and is not due again at `now` (`podio.extra_failures`).
    public func revisionWork(apps: [Int], now: Date) throws -> [RevisionWork] {
        guard !apps.isEmpty else { return [] }
        let due = ExtraFailureSQL.due(kind: "revisions", objectColumn: "p.item_id", nowParameter: "$2")
        return try db.query(
            "SELECT * FROM (\(DeepHistorySQL.pending)) AS p WHERE \(due) ORDER BY p.item_id", [apps, now]
        ).rows.map {
            RevisionWork(
                itemID: $0.int("item_id") ?? 0, appID: $0.int("app_id") ?? 0, revision: $0.int("revision") ?? 0,
                needsList: $0.bool("needs_list") ?? true, calls: $0.int("calls") ?? 1)
        }
    }

    /// Items and calls of deep history still to read, per app.
    public func revisionPending(apps: [Int]) throws -> [Int: (items: Int, calls: Int)] {
        guard !apps.isEmpty else { return [:] }
        var out: [Int: (items: Int, calls: Int)] = [:]
        for row in try db.query(
            "SELECT app_id, count(*) AS items, sum(calls) AS calls FROM (\(DeepHistorySQL.pending)) AS p GROUP BY app_id",
            [apps]
        ).rows {
            out[row.int("app_id") ?? 0] = (row.int("items") ?? 0, row.int("calls") ?? 0)
        }
        return out
    }

    /// Writes an item's list of revisions, read when the item had `revision`; returns how many
    /// revisions were new.
    public func writeRevisionList(itemID: Int, appID: Int, revision: Int, body: Data) throws -> Int {
        let text = String(decoding: body, as: UTF8.self)
        return try db.withTransaction { db in
            try db.query(DeepHistorySQL.writeList, [itemID, appID, text, revision]).first?.int("added") ?? 0
        }
    }

    /// The revisions of an item whose diff is still to read.
    public func diffsToRead(itemID: Int) throws -> [Int] {
        try db.query(DeepHistorySQL.diffsToRead, [itemID]).rows.compactMap { $0.int("revision") }
    }

    /// Writes the diff that led to `revision` (nil: Podio no longer serves it) and its field
    /// rows, in one transaction; returns the number of fields it changed.
    public func writeRevisionDiff(itemID: Int, revision: Int, body: Data?) throws -> Int {
        let text = body.map { String(decoding: $0, as: UTF8.self) }
        return try db.withTransaction { db in
            guard try db.query(DeepHistorySQL.writeDiff, [itemID, revision, text]).first != nil else { return 0 }
            try db.query(DeepHistorySQL.clearChanges, [itemID, revision])
            return try db.query(DeepHistorySQL.writeChanges, [itemID, revision]).affectedRows
        }
    }
}
