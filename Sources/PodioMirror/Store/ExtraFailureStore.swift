import Foundation
import LibPQ

/// What the extras could not read, per object (`podio.extra_failures`): failures with their
/// back-off, objects skipped by choice, and the list `status` shows. The statements are
/// `ExtraFailureSQL`.
public struct ExtraFailureStore: StoreSlice {
    public let db: PGConnection

    public init(db: PGConnection) {
        self.db = db
    }

    /// Records a failed attempt at an object; returns the attempts in a row and the next try.
    @discardableResult
    public func recordExtraFailure(
        _ kind: ExtraFailure.Kind, objectID: Int, itemID: Int, appID: Int, error: String, at now: Date
    ) throws -> (attempts: Int, nextTryAt: Date?) {
        let steps = (1...18).map { ExtraFailure.backoff(attempts: $0) }
        let row = try db.query(ExtraFailureSQL.fail, [kind.rawValue, objectID, itemID, appID, error, now, steps]).first
        return (row?.int("attempts") ?? 1, row?.date("next_try_at"))
    }

    /// Records an object the mirror does not fetch by choice (a file hosted elsewhere).
    public func recordExtraSkipped(
        _ kind: ExtraFailure.Kind, objectID: Int, itemID: Int, appID: Int, reason: String, at now: Date
    )
        throws
    {
        try db.query(ExtraFailureSQL.skip, [kind.rawValue, objectID, itemID, appID, reason, now])
    }

    /// Forgets an object's failures (it was read, or Podio no longer has it).
    public func clearExtraFailure(_ kind: ExtraFailure.Kind, objectID: Int) throws {
        try db.query(ExtraFailureSQL.clear, [kind.rawValue, objectID])
    }

    /// The recorded failures of live objects, the longest failing first.
    public func extraFailures() throws -> [ExtraFailure] {
        try db.query(ExtraFailureSQL.live).rows.compactMap { r in
            guard let kind = ExtraFailure.Kind(rawValue: r.string("kind") ?? "") else { return nil }
            return ExtraFailure(
                kind: kind, objectID: r.int("object_id") ?? 0, itemID: r.int("item_id") ?? 0,
                appID: r.int("app_id") ?? 0,
                attempts: r.int("attempts") ?? 0, lastError: r.string("last_error") ?? "",
                firstFailedAt: r.date("first_failed_at"), lastFailedAt: r.date("last_failed_at"),
                nextTryAt: r.date("next_try_at"))
        }
    }
}
