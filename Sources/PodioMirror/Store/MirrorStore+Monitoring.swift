import Foundation
import LibPQ

extension MirrorStore {
    /// When the last run of each kind (`sync`, `resync`; dry runs apart) succeeded, any process.
    public func lastSuccessByKind() throws -> [String: Date] {
        var last: [String: Date] = [:]
        for row in try db.query(
            "SELECT kind, max(finished_at) AS at FROM podio.sync_runs WHERE status = 'succeeded' GROUP BY kind"
        ).rows {
            if let kind = row.string("kind"), let at = row.date("at") { last[kind] = at }
        }
        return last
    }
}
