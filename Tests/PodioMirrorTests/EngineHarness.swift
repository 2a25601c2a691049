import Foundation
import LibPQ
import Logging
import PodioAPI
import PodioMirror
import PodioSimulator
import Testing
import TestSupport

/// A simulator over HTTP, a fresh migrated database, and the settings that join them.
final class EngineHarness: Sendable {
    let simulator: PodioSimulator
    let database: TestDatabase
    let db: PGConnection
    let settings: MirrorSettings
    let transport: AsyncHTTPClientTransport
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    init(
        apps: [PodioSimulator.AppSpec]? = nil, items: Int = 100, seed: UInt64 = 7, quota: QuotaPolicy? = nil,
        simulatorLimits: (Int, Int, Double)? = nil, tokenTTL: Int = 28800
    ) async throws {
        var configuration = PodioSimulator.Configuration()
        configuration.apps = apps
        configuration.items = items
        configuration.seed = seed
        configuration.tokenTTL = tokenTTL
        if let (limited, general, window) = simulatorLimits {
            configuration.rateLimit = limited
            configuration.rateLimitGeneral = general
            configuration.rateWindow = window
        } else {
            configuration.rateLimit = 0
            configuration.rateLimitGeneral = 0
        }
        simulator = try await PodioSimulator.start(configuration)
        database = try await TestDatabase.create(prefix: "engine")
        db = try await database.connect()
        try await db.run { _ = try SchemaMigrator.migrate($0, logger: EngineHarness.logger) }
        var settings = MirrorSettings()
        settings.databaseURL = database.url
        settings.apiURL = simulator.baseURL
        settings.apiKey = PodioAPIKey(clientID: configuration.clientID, clientSecret: configuration.clientSecret)
        settings.userCredentials = .password(username: configuration.username, password: configuration.password)
        settings.apps = nil
        settings.retry = RetryPolicy(maxAttempts: 4, baseDelay: 0.05, maxDelay: 0.5, maxElapsed: 20)
        settings.requestTimeout = 10
        if let quota { settings.quota = quota }
        self.settings = settings
        transport = AsyncHTTPClientTransport(connectTimeout: 5, readTimeout: 10)
    }

    /// Environment for running the real binary against this harness.
    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["DATABASE_URL"] = database.url
        env["PODIO_API_URL"] = simulator.baseURL
        env["PODIO_CLIENT_ID"] = settings.apiKey?.clientID
        env["PODIO_CLIENT_SECRET"] = settings.apiKey?.clientSecret
        if case .password(let user, let password) = settings.userCredentials {
            env["PODIO_USERNAME"] = user
            env["PODIO_PASSWORD"] = password
        }
        env["PODIO_RATE_LIMIT"] = String(settings.quota.rateLimited)
        env["PODIO_RATE_LIMIT_GENERAL"] = String(settings.quota.general)
        env["PODIO_RATE_WINDOW"] = String(settings.quota.window)
        return env
    }

    /// Runs `body` with a harness and always closes it (the HTTP client must be shut down).
    static func with(
        apps: [PodioSimulator.AppSpec]? = nil, items: Int = 100, seed: UInt64 = 7, quota: QuotaPolicy? = nil,
        simulatorLimits: (Int, Int, Double)? = nil, tokenTTL: Int = 28800, _ body: (EngineHarness) async throws -> Void
    ) async throws {
        let h = try await EngineHarness(
            apps: apps, items: items, seed: seed, quota: quota, simulatorLimits: simulatorLimits, tokenTTL: tokenTTL)
        do {
            try await body(h)
        } catch {
            await h.close()
            throw error
        }
        await h.close()
    }

    func close() async {
        db.close()
        try? await transport.shutdown()
        try? await simulator.shutdown()
        await database.drop()
    }

    func coordinator(settings: MirrorSettings? = nil, clock: any LedgerClock = SystemClock(), observer: SyncObserver? = nil) -> SyncCoordinator {
        SyncCoordinator(settings: settings ?? self.settings, transport: transport, clock: clock, observer: observer, logger: Self.logger)
    }

    @discardableResult
    func sync(_ kind: SyncOptions.Kind = .sync, apps: [Int]? = nil, dryRun: Bool = false, observer: SyncObserver? = nil) async throws -> RunSummary {
        try await coordinator(observer: observer).run(SyncOptions(kind: kind, apps: apps, dryRun: dryRun))
    }

    func scalar(_ sql: String, _ params: [(any PGEncodable)?] = []) async throws -> String? {
        try await db.run { try $0.query(sql, params).first?[0] }
    }

    func count(_ sql: String, _ params: [(any PGEncodable)?] = []) async throws -> Int {
        Int(try await scalar(sql, params) ?? "") ?? -1
    }

    /// Differences between the mirror and the simulator's ground truth for the given apps
    /// (all apps when nil): missing or extra live items, items whose revision or title differ,
    /// and typed values (of active fields) that differ; deleted items the mirror still shows
    /// live. References to items deleted since are not compared. Values of app references and contacts compare by id only: Podio embeds the
    /// referenced item's current title without a new revision of the referencing item. Empty
    /// means equal.
    func differences(apps: [Int]? = nil) async throws -> [String] {
        let truth = String(decoding: simulator.truth(), as: UTF8.self)
        let ids = apps ?? simulator.appIDs()
        return try await db.run { db in
            try db.query(
                """
                WITH truth AS (
                    SELECT (a->>'app_id')::bigint AS app_id, (i->>'item_id')::bigint AS item_id, i
                    FROM jsonb_array_elements($1::jsonb -> 'apps') a, jsonb_array_elements(a -> 'items') i
                    WHERE (a->>'app_id')::bigint = ANY ($2::bigint[])
                ), mirror AS (
                    SELECT * FROM podio.items WHERE app_id = ANY ($2::bigint[]) AND deleted_at IS NULL
                ), active AS (
                    SELECT field_id FROM podio.app_fields WHERE status = 'active'
                ), truth_values AS (
                    SELECT t.item_id, (f->>'field_id')::bigint AS field_id,
                           CASE WHEN f->>'type' = 'app' THEN 0 ELSE (v.pos - 1)::int END AS position,
                           CASE WHEN f->>'type' IN ('app', 'contact') THEN NULL ELSE podio.value_text(f->>'type', v.val) END AS t,
                           podio.value_number(f->>'type', v.val) AS n, podio.value_ref(f->>'type', v.val) AS r,
                           podio.value_start(f->>'type', v.val) AS s, podio.value_end(f->>'type', v.val) AS e,
                           podio.value_start_date(f->>'type', v.val) AS d, podio.value_kind(f->>'type', v.val) AS k
                    FROM truth t, jsonb_array_elements(t.i->'fields') f,
                         jsonb_array_elements(f->'values') WITH ORDINALITY v(val, pos)
                    WHERE (f->>'field_id')::bigint IN (SELECT field_id FROM active)
                ), mirror_values AS (
                    SELECT v.item_id, v.field_id, CASE WHEN v.type = 'app' THEN 0 ELSE v.position END,
                           CASE WHEN v.type IN ('app', 'contact') THEN NULL ELSE v.value_text END, v.value_number,
                           v.value_ref, v.value_start, v.value_end, v.value_start_date, v.value_kind
                    FROM podio.item_values v JOIN mirror m USING (item_id)
                    WHERE v.field_id IN (SELECT field_id FROM active)
                      -- Podio drops a reference to a deleted item without a new revision of the
                      -- referencing item; the mirror sees that when the item is next read.
                      AND NOT (v.type = 'app' AND v.value_ref IN (SELECT item_id FROM podio.items WHERE deleted_at IS NOT NULL))
                )
                SELECT 'missing ' || t.item_id AS d FROM truth t LEFT JOIN mirror m USING (item_id) WHERE m.item_id IS NULL
                UNION ALL
                SELECT 'extra ' || m.item_id FROM mirror m LEFT JOIN truth t USING (item_id) WHERE t.item_id IS NULL
                UNION ALL
                SELECT 'differs ' || t.item_id || ': revision ' || m.revision || ' title ' || coalesce(m.title, 'NULL')
                FROM truth t JOIN mirror m USING (item_id)
                WHERE m.revision <> coalesce((t.i->'current_revision'->>'revision')::int, (t.i->>'revision')::int)
                   OR m.title IS DISTINCT FROM t.i->>'title'
                UNION ALL
                SELECT 'value of item ' || item_id || ' field ' || field_id || ' in ' || side || ' only: ' || x::text
                FROM ((SELECT 'podio' AS side, * FROM (SELECT * FROM truth_values EXCEPT SELECT * FROM mirror_values) a)
                      UNION ALL (SELECT 'mirror', * FROM (SELECT * FROM mirror_values EXCEPT SELECT * FROM truth_values) b)) x
                UNION ALL
                SELECT 'deleted in podio but live ' || d FROM jsonb_array_elements_text($1::jsonb -> 'deleted_item_ids') d
                WHERE EXISTS (SELECT 1 FROM podio.items WHERE item_id = d::bigint AND deleted_at IS NULL)
                ORDER BY 1 LIMIT 20
                """, [truth, ids]
            ).rows.compactMap { $0["d"] }
        }
    }
}
