import Foundation
import LibPQ
import PodioAPI

/// The items of the mirror: the apps' definitions, each app's sync state and checkpoint, the
/// pages of items (one transaction each), full passes, deltas, ID sweeps, live counts and
/// deletions. Methods are synchronous and meant to run on the connection's thread (`run`).
public struct ItemStore: StoreSlice {
    public let db: PGConnection

    public init(db: PGConnection) {
        self.db = db
    }

    /// The stored name of an app, or nil when the mirror has never stored it.
    public func appName(appID: Int) throws -> String? {
        try db.query("SELECT name FROM podio.apps WHERE app_id = $1", [appID]).first?.string("name")
    }

    /// `upsertApp` for a dry run: compared and written inside a transaction that is rolled back.
    public func upsertAppRolledBack(_ app: PodioApp) throws -> DefinitionChange {
        try db.withTransaction(rollingBack: true) { db in try ItemStore(db: db).upsertAppInOpenTransaction(app) }
    }

    // MARK: - Apps

    /// Upserts an app and its field definitions (deleted fields stay, marked deleted) and brings
    /// its table in step with them, in one transaction.
    @discardableResult
    public func upsertApp(_ app: PodioApp) throws -> DefinitionChange {
        try db.withTransaction { db in try ItemStore(db: db).upsertAppInOpenTransaction(app) }
    }

    /// `upsertApp` inside a transaction the caller opened (a dry run rolls it back).
    public func upsertAppInOpenTransaction(_ app: PodioApp) throws -> DefinitionChange {
        let raw = String(decoding: app.raw, as: UTF8.self)
        do {
            try db.query(
                """
                INSERT INTO podio.apps (app_id, space_id, name, item_name, url_label, status, app_revision, raw, synced_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb - 'token', now())
                ON CONFLICT (app_id) DO UPDATE SET space_id = EXCLUDED.space_id, name = EXCLUDED.name,
                    item_name = EXCLUDED.item_name, url_label = EXCLUDED.url_label, status = EXCLUDED.status,
                    app_revision = EXCLUDED.app_revision, raw = EXCLUDED.raw, synced_at = now()
                """,
                [app.appID, app.spaceID, app.name, app.itemName, app.urlLabel, app.status, app.currentRevision, raw])
            // Fields: from the app's JSON, so `config` is stored exactly as received.
            let changed =
                try db.query(
                    """
                    WITH incoming AS (
                        SELECT podio.to_bigint(f->>'field_id') AS field_id, f->>'external_id' AS external_id,
                               coalesce(f->>'label', f->'config'->>'label') AS label, coalesce(f->>'type', 'unknown') AS type,
                               coalesce(f->>'status', 'active') AS status, podio.to_bigint(f->'config'->>'delta')::int AS position,
                               coalesce(f->'config', '{}'::jsonb) AS config
                        FROM jsonb_array_elements(podio.json_array($2::jsonb -> 'fields')) AS f
                    ), up AS (
                        INSERT INTO podio.app_fields AS a (field_id, app_id, external_id, label, type, status, position, config)
                        SELECT DISTINCT ON (field_id) field_id, $1, external_id, label, type, status, position, config
                        FROM incoming WHERE field_id IS NOT NULL ORDER BY field_id
                        ON CONFLICT (field_id) DO UPDATE SET app_id = EXCLUDED.app_id, external_id = EXCLUDED.external_id,
                            label = EXCLUDED.label, type = EXCLUDED.type, status = EXCLUDED.status,
                            position = EXCLUDED.position, config = EXCLUDED.config, updated_at = now()
                        WHERE (a.app_id, a.external_id, a.label, a.type, a.status, a.position, a.config)
                              IS DISTINCT FROM (EXCLUDED.app_id, EXCLUDED.external_id, EXCLUDED.label, EXCLUDED.type,
                                                EXCLUDED.status, EXCLUDED.position, EXCLUDED.config)
                        RETURNING 1
                    ), gone AS (
                        -- A field that vanished from the definition altogether is kept, marked deleted.
                        UPDATE podio.app_fields AS a SET status = 'deleted', updated_at = now()
                        WHERE a.app_id = $1 AND a.status <> 'deleted'
                          AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.field_id = a.field_id)
                        RETURNING 1
                    )
                    SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM gone) AS changed
                    """, [app.appID, raw]
                ).first?.int("changed") ?? 0
            let table = try AppTableStore(db: db, logger: db.logger).reconcile(appID: app.appID)
            return DefinitionChange(fieldsChanged: changed > 0, table: table)
        }
    }

    /// Brings the app's table in step with its stored fields, in a transaction of its own (a run
    /// does it before each app: a table that a user dropped comes back, a column kept for a
    /// user's view goes once the view is gone).
    public func reconcileAppTable(appID: Int) throws -> AppTableStore.Report {
        try db.withTransaction { db in try AppTableStore(db: db, logger: db.logger).reconcile(appID: appID) }
    }

    // MARK: - Sync state

    public func syncState(appID: Int) throws -> SyncState {
        guard
            let row = try db.query(
                """
                SELECT high_water_mark, last_full_sync_at, last_delta_sync_at, full_pass_run_id, full_pass_cutoff,
                       full_pass_offset, full_pass_filtered, sweep_gap, swept_at
                FROM podio.sync_state WHERE app_id = $1
                """, [appID]
            ).first
        else { return SyncState() }
        return SyncState(
            highWaterMark: row.date("high_water_mark"), lastFullSyncAt: row.date("last_full_sync_at"),
            lastDeltaSyncAt: row.date("last_delta_sync_at"), fullPassRunID: row.int64("full_pass_run_id"),
            fullPassCutoff: row.date("full_pass_cutoff"), fullPassOffset: row.int("full_pass_offset") ?? 0,
            fullPassFiltered: row.int("full_pass_filtered"), sweepGap: row.int("sweep_gap"),
            sweptAt: row.date("swept_at"))
    }

    /// Starts a full pass: forgets ids of any earlier unfinished pass, records the cutoff.
    public func beginFullPass(appID: Int, runID: Int64, cutoff: Date) throws {
        _ = try db.withTransaction { db in
            try db.query("DELETE FROM podio.full_pass_seen WHERE app_id = $1", [appID])
            try db.query(
                """
                INSERT INTO podio.sync_state (app_id, full_pass_run_id, full_pass_cutoff, full_pass_offset, full_pass_filtered, updated_at)
                VALUES ($1, $2, $3, 0, NULL, now())
                ON CONFLICT (app_id) DO UPDATE SET full_pass_run_id = $2, full_pass_cutoff = $3, full_pass_offset = 0,
                    full_pass_filtered = NULL, updated_at = now()
                """, [appID, runID, cutoff])
        }
    }

    /// How a page advances the app's checkpoint, written in the page's transaction.
    public enum Checkpoint: Sendable {
        /// A full pass: the next offset and Podio's `filtered` for it.
        case fullPass(nextOffset: Int, filtered: Int)
        /// A delta: every edit up to `highWaterMark` is mirrored.
        case delta(highWaterMark: Date?)
        /// An ID sweep or a single fetched item: no checkpoint moves.
        case none
    }

    /// Writes one page in one transaction: items upserted by revision, values replaced for
    /// changed items, activity refreshed, ids remembered (full pass), checkpoint advanced.
    /// With `dryRun`, the same statements run and the transaction is rolled back.
    public func writePage(
        appID: Int, runID: Int64, body: String, checkpoint: Checkpoint, podioTotal: Int, dryRun: Bool,
        app: PodioApp? = nil, keepHistory: Bool = true, onlyNewer: Bool = false, missedByHooks: HookWatch? = nil
    ) throws -> PageOutcome {
        try db.withTransaction(rollingBack: dryRun) { db -> PageOutcome in
            // A dry run has not stored the app (its transaction was rolled back): do it here too.
            if dryRun, let app { _ = try upsertAppInOpenTransaction(app) }
            // The page is read once, in Swift, and staged by COPY; a body it cannot read is
            // handed to PostgreSQL, which fails the page with its own error, as before.
            let page: PageItems
            do {
                page = try PageItems(body: body)
            } catch {
                try db.query(PageSQL.stageInSQL, [body])
                throw error
            }
            try db.execute(PageSQL.createStage)
            try db.copyIn(PageSQL.copyStage) { writer in
                for ord in stride(from: 1, through: page.count, by: 1) { try writer.writeRow(page.stageRow(ord: ord)) }
            }
            if onlyNewer { try db.execute(PageSQL.dropOlderRevisions) }
            try db.execute(PageSQL.analyze)
            let tables = AppTableStore(db: db, logger: db.logger)
            let activity = try db.query(PageSQL.refreshActivity, [appID]).rows.compactMap { $0.int("item_id") }
            try tables.refreshActivity(appID: appID, items: activity)
            if keepHistory { try db.query(PageSQL.keepVersions, [runID]) }
            var moved: [Int: [Int]] = [:]
            for row in try db.query(PageSQL.moveItems, [appID]).rows {
                if let item = row.int("item_id"), let from = row.int("from_app") {
                    moved[from, default: []].append(item)
                }
            }
            for (from, items) in moved.sorted(by: { $0.key < $1.key }) {
                try tables.deleteRows(appID: from, items: items)
            }
            try db.query(PageSQL.upsertItems, [appID, runID])
            try db.query(PageSQL.writeFiles, [appID])
            try db.execute(PageSQL.analyzeChanged)
            let findings = try tables.writeChanged(appID: appID, page: page)
            let untitled = try db.query(PageSQL.untitledItems).rows.compactMap { $0.int("item_id") }
            let summary = try db.query(PageSQL.summary).first
            if (summary?.int("inserted") ?? 0) + (summary?.int("updated") ?? 0) > 0 {
                try db.advisoryTransactionLock(LockKeys.profiles)
                for statement in ProfileSQL.statements(source: ProfileSQL.pageSource) { try db.execute(statement) }
            }
            var missed = 0
            if let watch = missedByHooks {
                missed =
                    try db.query(PageSQL.countMissedByHooks, [appID, watch.since, watch.before]).first?.int("n") ?? 0
            }
            switch checkpoint {
            case .fullPass(let nextOffset, let filtered):
                try db.query(PageSQL.rememberSeen, [appID])
                try db.query(
                    """
                    UPDATE podio.sync_state SET full_pass_offset = $2, full_pass_filtered = $3, last_podio_total = $4,
                        updated_at = now() WHERE app_id = $1
                    """, [appID, nextOffset, filtered, podioTotal])
            case .delta(let mark):
                try db.query(
                    """
                    INSERT INTO podio.sync_state (app_id, high_water_mark, last_podio_total, updated_at)
                    VALUES ($1, $2, $3, now())
                    ON CONFLICT (app_id) DO UPDATE SET
                        high_water_mark = GREATEST(podio.sync_state.high_water_mark, EXCLUDED.high_water_mark),
                        last_podio_total = $3, updated_at = now()
                    """, [appID, mark, podioTotal])
            case .none:
                break
            }
            let inserted = summary?.int("inserted") ?? 0
            let updated = summary?.int("updated") ?? 0
            let seen = summary?.int("seen") ?? 0
            return PageOutcome(
                seen: seen, inserted: inserted, updated: updated, unchanged: seen - inserted - updated,
                activityRefreshed: activity.count, unknownFieldIDs: findings.unknownFieldIDs,
                unreadable: findings.unreadable, untitled: untitled,
                missedByHooks: missed)
        }
    }

    /// Ends a full pass: with `markDeletions`, items it did not see (and that existed before its
    /// cutoff) are marked deleted; the high-water mark moves to the cutoff, the checkpoint is cleared.
    /// - Returns: the number of items marked deleted.
    public func finishFullPass(appID: Int, cutoff: Date, markDeletions: Bool, asDelta: Bool = false) throws -> Int {
        try db.withTransaction { db in
            // The unseen ids first, by a set difference, then the update by id. As one statement
            // (NOT EXISTS, or a join with the difference), the plan made without statistics (a
            // first load that autovacuum has not analyzed yet) compared every item with every
            // seen id: quadratic in the app's size. Each of these two is linear whatever the estimates.
            let unseen =
                !markDeletions
                ? []
                : try db.query(
                    """
                    SELECT item_id FROM podio.items WHERE app_id = $1 AND deleted_at IS NULL
                      AND (created_on IS NULL OR created_on <= $2)
                    EXCEPT
                    SELECT item_id FROM podio.full_pass_seen WHERE app_id = $1
                    """, [appID, cutoff]
                ).rows.compactMap { $0.int("item_id") }
            let deleted =
                unseen.isEmpty
                ? 0
                : try db.query(
                    """
                    UPDATE podio.items SET deleted_at = now()
                    WHERE app_id = $1 AND deleted_at IS NULL AND item_id = ANY ($2::bigint[])
                    """, [appID, unseen]
                ).affectedRows
            try AppTableStore(db: db, logger: db.logger).deleteRows(appID: appID, items: unseen)
            try db.query("DELETE FROM podio.full_pass_seen WHERE app_id = $1", [appID])
            // A listing (a small app's turn) counts as its delta: `last_full_sync_at` stays the
            // last full pass, which reads the definition again.
            try db.query(
                """
                UPDATE podio.sync_state SET full_pass_run_id = NULL, full_pass_cutoff = NULL, full_pass_offset = NULL,
                    full_pass_filtered = NULL, last_error = NULL, high_water_mark = GREATEST(high_water_mark, $2),
                    last_full_sync_at = CASE WHEN $3 THEN last_full_sync_at ELSE now() END,
                    last_delta_sync_at = CASE WHEN $3 THEN now() ELSE last_delta_sync_at END, updated_at = now()
                WHERE app_id = $1
                """, [appID, cutoff, asDelta])
            return deleted
        }
    }

    /// Forgets the unfinished full pass `runID` began (a listing that did not finish): the
    /// app's next turn starts afresh. A pass another run began is left alone.
    public func abandonFullPass(appID: Int, runID: Int64) throws {
        _ = try db.withTransaction { db in
            let mine = try db.query(
                """
                UPDATE podio.sync_state SET full_pass_run_id = NULL, full_pass_cutoff = NULL, full_pass_offset = NULL,
                    full_pass_filtered = NULL, updated_at = now()
                WHERE app_id = $1 AND full_pass_run_id = $2
                """, [appID, runID]
            ).affectedRows
            if mine > 0 { try db.query("DELETE FROM podio.full_pass_seen WHERE app_id = $1", [appID]) }
        }
    }

    /// Distinct items the unfinished full pass of an app has seen (across resumed runs).
    public func fullPassSeenCount(appID: Int) throws -> Int {
        try db.query("SELECT count(*) AS n FROM podio.full_pass_seen WHERE app_id = $1", [appID]).first?.int("n") ?? 0
    }

    /// What an ID sweep left unexplained: Podio's total less the live count, and when.
    public func recordSweep(appID: Int, gap: Int, at time: Date) throws {
        try db.query(
            "UPDATE podio.sync_state SET sweep_gap = $2, swept_at = $3, updated_at = now() WHERE app_id = $1",
            [appID, gap, time])
    }

    /// The next run of this app re-reads it in full (the mirror lacks many items Podio lists).
    public func requireFullPass(appID: Int) throws {
        try db.query("UPDATE podio.sync_state SET last_full_sync_at = NULL WHERE app_id = $1", [appID])
    }

    /// Ends a delta: the high-water mark moves to the delta's upper bound.
    public func finishDelta(appID: Int, upTo: Date, dryRun: Bool) throws {
        guard !dryRun else { return }
        try db.query(
            """
            INSERT INTO podio.sync_state (app_id, high_water_mark, last_delta_sync_at, updated_at)
            VALUES ($1, $2, now(), now())
            ON CONFLICT (app_id) DO UPDATE SET high_water_mark = GREATEST(podio.sync_state.high_water_mark, $2),
                last_delta_sync_at = now(), last_error = NULL, updated_at = now()
            """, [appID, upTo])
    }

    /// Live items per mirrored app (apps without items count 0).
    public func liveCounts() throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for row in try db.query(
            """
            SELECT a.app_id, count(i.item_id) AS n FROM podio.apps a
            LEFT JOIN podio.items i ON i.app_id = a.app_id AND i.deleted_at IS NULL GROUP BY a.app_id
            """
        ).rows {
            if let id = row.int("app_id") { counts[id] = row.int("n") ?? 0 }
        }
        return counts
    }

    /// Items live in the mirror for an app.
    public func liveCount(appID: Int) throws -> Int {
        try db.query("SELECT count(*) AS n FROM podio.items WHERE app_id = $1 AND deleted_at IS NULL", [appID])
            .first?.int("n") ?? 0
    }

    /// After an ID sweep: live items created up to `cutoff` whose ids Podio did not list are
    /// marked deleted. Returns how many.
    public func markMissingDeleted(appID: Int, seen: [Int], cutoff: Date, dryRun: Bool) throws -> Int {
        let sql = """
            UPDATE podio.items SET deleted_at = now()
            WHERE app_id = $1 AND deleted_at IS NULL AND (created_on IS NULL OR created_on <= $3)
              AND NOT (item_id = ANY ($2::bigint[]))
            RETURNING item_id
            """
        if dryRun {
            return try db.query(
                """
                SELECT count(*) AS n FROM podio.items WHERE app_id = $1 AND deleted_at IS NULL
                  AND (created_on IS NULL OR created_on <= $3) AND NOT (item_id = ANY ($2::bigint[]))
                """, [appID, seen, cutoff]
            ).first?.int("n") ?? 0
        }
        return try db.withTransaction { db in
            let deleted = try db.query(sql, [appID, seen, cutoff]).rows.compactMap { $0.int("item_id") }
            try AppTableStore(db: db, logger: db.logger).deleteRows(appID: appID, items: deleted)
            return deleted.count
        }
    }

    /// Ids among `ids` that the mirror does not hold live.
    public func missingLive(appID: Int, ids: [Int]) throws -> [Int] {
        try db.query(
            """
            SELECT id FROM unnest($2::bigint[]) AS id
            WHERE NOT EXISTS (SELECT 1 FROM podio.items i WHERE i.item_id = id AND i.app_id = $1 AND i.deleted_at IS NULL)
            """, [appID, ids]
        ).rows.compactMap { $0.int("id") }
    }

    public func recordAppError(appID: Int, _ message: String) throws {
        try db.query(
            """
            INSERT INTO podio.sync_state (app_id, last_error, updated_at) VALUES ($1, $2, now())
            ON CONFLICT (app_id) DO UPDATE SET last_error = $2, updated_at = now()
            """, [appID, message])
    }

    /// Items Podio confirmed gone (404 or 410 on `GET /item/{id}`) are marked deleted, their
    /// app-table rows removed. Returns how many were live.
    public func markItemsDeleted(appID: Int, itemIDs: [Int]) throws -> Int {
        try db.withTransaction { db in
            let deleted = try db.query(
                """
                UPDATE podio.items SET deleted_at = now() WHERE app_id = $1 AND deleted_at IS NULL AND item_id = ANY ($2::bigint[])
                RETURNING item_id
                """, [appID, itemIDs]
            ).rows.compactMap { $0.int("item_id") }
            try AppTableStore(db: db, logger: db.logger).deleteRows(appID: appID, items: deleted)
            return deleted.count
        }
    }
}
