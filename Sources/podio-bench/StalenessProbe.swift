import LibPQ
import PodioMirror

/// Reads the app tables in `podio_apps` cheaply: one statement per poll, only the items with a
/// change in flight, only the apps that have one.
struct StalenessProbe {
    let db: PGConnection
    /// app_id → quoted `podio_apps."table"`.
    private(set) var tables: [Int: String] = [:]

    init(db: PGConnection) {
        self.db = db
    }

    mutating func loadTables() async throws {
        let rows = try await db.run { db in
            try db.query("SELECT app_id, table_name FROM podio.apps WHERE table_name IS NOT NULL").rows
        }
        for row in rows {
            if let appID = row.int("app_id"), let name = row.string("table_name") {
                tables[appID] = "podio_apps." + TableNaming.quoteIdentifier(name)
            }
        }
    }

    /// item_id → revision of the rows present among `itemsByApp`.
    func rows(_ itemsByApp: [Int: [Int]]) async throws -> [Int: Int] {
        var parts: [String] = []
        var parameters: [[Int]] = []
        for (appID, items) in itemsByApp.sorted(by: { $0.key < $1.key }) {
            guard let table = tables[appID], !items.isEmpty else { continue }
            parameters.append(items)
            parts.append("SELECT item_id, revision FROM \(table) WHERE item_id = ANY($\(parameters.count)::bigint[])")
        }
        guard !parts.isEmpty else { return [:] }
        let sql = parts.joined(separator: " UNION ALL ")
        let values = parameters
        let result = try await db.run { db in try db.query(sql, values.map { $0 as (any PGEncodable)? }).rows }
        var found: [Int: Int] = [:]
        for row in result {
            if let itemID = row.int("item_id") { found[itemID] = row.int("revision") ?? 0 }
        }
        return found
    }

    /// Every row of every app table: item_id → revision.
    func allRows() async throws -> [Int: Int] {
        guard !tables.isEmpty else { return [:] }
        let sql = tables.values.sorted().map { "SELECT item_id, revision FROM \($0)" }.joined(separator: " UNION ALL ")
        let result = try await db.run { db in try db.query(sql).rows }
        var found: [Int: Int] = [:]
        for row in result {
            if let itemID = row.int("item_id") { found[itemID] = row.int("revision") ?? 0 }
        }
        return found
    }
}
