import Foundation
import LibPQ
import Logging
import PodioSimulator
import Synchronization
import TestSupport
import Testing

/// A simulator over HTTP, a fresh database migrated by the real binary, and the environment
/// that joins them. Every run of the binary goes through here, so that what it printed can be
/// checked for secrets at the end (`expectNoSecretsLeaked`).
final class CLIHarness: Sendable {
    let simulator: PodioSimulator
    let configuration: PodioSimulator.Configuration
    let database: MirrorDatabase
    let db: PGConnection
    /// Environment of every run, before a test's own overrides.
    let baseEnvironment: [String: String]
    private let printed = Mutex<[String]>([])
    private let tokensSeen = Mutex<Set<String>>([])

    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    struct Options: Sendable {
        var apps: [PodioSimulator.AppSpec]? = nil
        var items = 100
        var seed: UInt64 = 7
        /// Simulator quota: (rate-limited, general, window seconds); nil = unlimited.
        var simulatorLimits: (Int, Int, Double)? = nil
        var tokenTTL = 28800
        /// The binary's quota: (rate-limited, general, window seconds).
        var quota: (Int, Int, Double) = (250, 1000, 3600)
        var migrate = true
        /// The simulator accepts webhook URLs on loopback (the binary's `run --listen`).
        var allowLoopbackHooks = false
    }

    private init(options: Options, database: MirrorDatabase) async throws {
        var configuration = PodioSimulator.Configuration()
        configuration.apps = options.apps
        configuration.items = options.items
        configuration.seed = options.seed
        configuration.tokenTTL = options.tokenTTL
        configuration.allowLoopbackHooks = options.allowLoopbackHooks
        if let (limited, general, window) = options.simulatorLimits {
            configuration.rateLimit = limited
            configuration.rateLimitGeneral = general
            configuration.rateWindow = window
        } else {
            configuration.rateLimit = 0
            configuration.rateLimitGeneral = 0
        }
        self.configuration = configuration
        self.database = database
        simulator = try await PodioSimulator.start(configuration)
        do {
            db = try await database.connect()
        } catch {
            try? await simulator.shutdown()
            throw error
        }
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("PODIO_") && key != "PODIO_MIRROR_PRODUCTS" { env[key] = nil }
        env["DATABASE_URL"] = database.url
        env["PODIO_API_URL"] = simulator.baseURL
        env["PODIO_CLIENT_ID"] = configuration.clientID
        env["PODIO_CLIENT_SECRET"] = configuration.clientSecret
        env["PODIO_USERNAME"] = configuration.username
        env["PODIO_PASSWORD"] = configuration.password
        env["PODIO_RATE_LIMIT"] = String(options.quota.0)
        env["PODIO_RATE_LIMIT_GENERAL"] = String(options.quota.1)
        env["PODIO_RATE_WINDOW"] = String(Int(options.quota.2))
        env["PODIO_RATE_RESERVE"] = "0"
        // The reliability scenarios count and break item syncs; comments have their own tests
        // (PodioMirrorTests/CommentTests), so they are off here unless a scenario sets them.
        env["PODIO_COMMENTS"] = "off"
        baseEnvironment = env
    }

    /// Runs `body` with a harness and always closes it (simulator, connection, database).
    /// A scenario runs a simulator, a database and processes of the binary, and times kills by
    /// polling: it holds `TestSlots.scenario` slots of the suite's shared gate, so that only a
    /// few run at once (dozens at once on two cores would make every timing meaningless).
    static func with(
        _ options: Options = Options(), database given: MirrorDatabase? = nil, function: String = #function,
        _ body: (CLIHarness) async throws -> Void
    ) async throws {
        try await TestSlots.with(weight: TestSlots.scenario) {
            try await run(options, database: given, label: function, body)
        }
    }

    private static func run(
        _ options: Options, database given: MirrorDatabase?, label: String, _ body: (CLIHarness) async throws -> Void
    ) async throws {
        let t0 = Date()
        defer { timing("scenario \(label)", since: t0) }
        let database: MirrorDatabase
        if let given {
            database = given
        } else {
            database = try await MirrorDatabase.fresh()
        }
        let h: CLIHarness
        do {
            h = try await CLIHarness(options: options, database: database)
        } catch {
            await database.drop()
            throw error
        }
        do {
            if options.migrate {
                let migrate = try await h.run(["migrate"])
                try #require(migrate.status == 0, "\(migrate.printed)")
            }
            try await body(h)
        } catch {
            await h.close()
            throw error
        }
        await h.close()
    }

    func close() async {
        db.close()
        try? await simulator.shutdown()
        await database.drop()
    }

    // MARK: - The binary

    func environment(_ overrides: [String: String?] = [:]) -> [String: String] {
        var env = baseEnvironment
        for (key, value) in overrides { env[key] = value }
        return env
    }

    /// Runs the binary to its end and records what it printed.
    @discardableResult
    func run(_ arguments: [String], env overrides: [String: String?] = [:], timeout: Double = 120) async throws
        -> RunOutcome
    {
        let process = try start(arguments, env: overrides)
        return await finish(process, timeout: timeout)
    }

    /// Starts the binary; `finish` waits for it and records its output.
    func start(_ arguments: [String], env overrides: [String: String?] = [:]) throws -> BinaryProcess {
        try BinaryProcess(arguments, environment: environment(overrides))
    }

    func finish(_ process: BinaryProcess, timeout: Double = 120) async -> RunOutcome {
        let outcome = await process.wait(timeout: timeout)
        record(outcome.stdout)
        record(outcome.stderr)
        await noteTokens()
        return outcome
    }

    func record(_ text: String) {
        printed.withLock { $0.append(text) }
    }

    /// A sync that must succeed.
    @discardableResult
    func sync(_ extra: [String] = [], env overrides: [String: String?] = [:]) async throws -> RunOutcome {
        let outcome = try await run(["sync"] + extra, env: overrides)
        #expect(outcome.status == 0, "\(outcome.printed)")
        return outcome
    }

    // MARK: - Database

    func rows(_ sql: String, _ params: [(any PGEncodable)?] = []) async throws -> [PGRow] {
        try await db.run { try $0.query(sql, params).rows }
    }

    func scalar(_ sql: String, _ params: [(any PGEncodable)?] = []) async throws -> String? {
        try await db.run { try $0.query(sql, params).first?[0] }
    }

    func count(_ sql: String, _ params: [(any PGEncodable)?] = []) async throws -> Int {
        Int(try await scalar(sql, params) ?? "") ?? -1
    }

    /// Polls until `condition` holds; false after `timeout` seconds.
    func waitUntil(timeout: Double = 30, every milliseconds: Int = 10, _ condition: () async throws -> Bool)
        async throws -> Bool
    {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(milliseconds))
        }
        return false
    }

    /// Sessions of the binary still open on the server. A killed client's session ends as soon
    /// as its backend notices (at once when idle, after the statement when busy).
    func binarySessions() async throws -> Int {
        try await count(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND application_name IN ('podio-mirror sync', 'podio-mirror ledger')
            """)
    }

    func waitForBinarySessionsToEnd() async throws {
        let gone = try await waitUntil(timeout: 30) { try await binarySessions() == 0 }
        #expect(gone, "sessions of a killed podio-mirror are still open")
    }

    // MARK: - Truth

    /// The simulator's ground truth as parsed JSON.
    /// With `PODIO_MIRROR_TEST_TIMING` set, prints how long a step took (to find slow scenarios).
    static func timing(_ what: String, since start: Date) {
        guard ProcessInfo.processInfo.environment["PODIO_MIRROR_TEST_TIMING"] != nil else { return }
        FileHandle.standardError.write(
            Data("timing \(what): \(String(format: "%.2f", Date().timeIntervalSince(start))) s\n".utf8))
    }

    func truthApps() throws -> [[String: Any]] {
        let truth = try JSONSerialization.jsonObject(with: simulator.truth()) as? [String: Any]
        return (truth?["apps"] as? [[String: Any]]) ?? []
    }

    /// Item ids of an app in the truth, in item-id order (parsed by PostgreSQL: Foundation's
    /// JSON parser takes seconds over a large truth in a debug build).
    func itemIDs(app: Int) async throws -> [Int] {
        let truth = String(decoding: simulator.truth(), as: UTF8.self)
        return try await rows(
            """
            SELECT (i->>'item_id')::bigint AS id FROM jsonb_array_elements($1::jsonb -> 'apps') a, jsonb_array_elements(a -> 'items') i
            WHERE (a->>'app_id')::bigint = $2 ORDER BY 1
            """, [truth, app]
        ).compactMap { $0.int("id") }
    }

    /// Differences between the mirror and the simulator's ground truth (see `MirrorComparison`).
    func differences(apps: [Int]? = nil) async throws -> [String] {
        let t0 = Date()
        defer { Self.timing("differences", since: t0) }
        let truth = String(decoding: simulator.truth(), as: UTF8.self)
        let ids = apps ?? simulator.appIDs()
        return try await db.run { try MirrorComparison.differences($0, truth: truth, apps: ids) }
    }

    /// What the stored checkpoint claims, checked against the truth right after a kill (before
    /// anything changes in Podio): a full pass's offset never counts items the mirror lacks, and a
    /// delta's high-water mark never passes an edit the mirror lacks.
    func cursorViolations() async throws -> [String] {
        let t0 = Date()
        defer { Self.timing("cursor check", since: t0) }
        let truth = String(decoding: simulator.truth(), as: UTF8.self)
        return try await db.run { db in
            try db.query(
                """
                WITH truth AS (
                    SELECT (a->>'app_id')::bigint AS app_id, (i->>'item_id')::bigint AS item_id,
                           podio.to_utc(i->>'created_on') AS created_on,
                           podio.to_utc(i->'current_revision'->>'created_on') AS last_edit_on,
                           coalesce((i->'current_revision'->>'revision')::int, (i->>'revision')::int) AS revision
                    FROM jsonb_array_elements($1::jsonb -> 'apps') a, jsonb_array_elements(a -> 'items') i
                ), passed AS (
                    -- The items a full pass has passed: the first `offset` by item id, created up to the cutoff.
                    SELECT t.*, s.full_pass_offset
                    FROM podio.sync_state s
                    CROSS JOIN LATERAL (
                        SELECT * FROM truth t WHERE t.app_id = s.app_id AND t.created_on <= s.full_pass_cutoff
                        ORDER BY t.item_id LIMIT s.full_pass_offset
                    ) t
                    WHERE s.full_pass_run_id IS NOT NULL
                )
                SELECT 'full pass of app ' || p.app_id || ' at offset ' || p.full_pass_offset || ' passed item ' || p.item_id
                       || ' that the mirror lacks' AS v
                FROM passed p
                WHERE NOT EXISTS (SELECT 1 FROM podio.items i WHERE i.item_id = p.item_id AND i.deleted_at IS NULL)
                   OR NOT EXISTS (SELECT 1 FROM podio.full_pass_seen f WHERE f.app_id = p.app_id AND f.item_id = p.item_id)
                UNION ALL
                SELECT 'high-water mark of app ' || s.app_id || ' (' || s.high_water_mark || ') passed item ' || t.item_id
                       || ' edited ' || t.last_edit_on || ' revision ' || t.revision
                FROM podio.sync_state s JOIN truth t ON t.app_id = s.app_id
                WHERE s.high_water_mark IS NOT NULL AND t.last_edit_on < s.high_water_mark
                  AND NOT EXISTS (SELECT 1 FROM podio.items i
                                  WHERE i.item_id = t.item_id AND i.revision = t.revision AND i.deleted_at IS NULL)
                ORDER BY 1 LIMIT 20
                """, [truth]
            ).rows.compactMap { $0["v"] }
        }
    }

    // MARK: - Secrets

    /// Remembers the tokens the binary stored (they rotate: each run may store new ones).
    func noteTokens() async {
        let rows = try? await db.run { db in
            try db.query("SELECT access_token, refresh_token FROM podio_auth.oauth_tokens").rows
        }
        let tokens = (rows ?? []).flatMap { [$0.string("access_token"), $0.string("refresh_token")] }.compactMap { $0 }
        tokensSeen.withLock { $0.formUnion(tokens) }
    }

    /// Every secret of this setup: the client secret, the password, the app tokens, the tokens
    /// the binary stored, and any extra the test names (a database password, say).
    func secrets(extra: [String] = []) async -> [String] {
        await noteTokens()
        var all = [configuration.clientSecret, configuration.password] + extra
        all += simulator.appIDs().compactMap { simulator.appToken(appID: $0) }
        all += tokensSeen.withLock { Array($0) }
        return all.filter { $0.count >= 4 }
    }

    /// Checks everything the binary printed so far, `status` (text and JSON), the runs' errors
    /// and the apps' last errors for secrets, and for anything shaped like the simulator's
    /// tokens (64 hex digits), which catches tokens that were rotated away before being noted.
    func expectNoSecretsLeaked(extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        _ = try await run(["status"])
        _ = try await run(["status", "--json"])
        var texts = printed.withLock { $0 }
        if let errors = try? await rows("SELECT error FROM podio.sync_runs WHERE error IS NOT NULL") {
            texts += errors.compactMap { $0.string("error") }
        }
        if let errors = try? await rows("SELECT last_error FROM podio.sync_state WHERE last_error IS NOT NULL") {
            texts += errors.compactMap { $0.string("last_error") }
        }
        let secrets = await secrets(extra: extra)
        #expect(!secrets.isEmpty, sourceLocation: sourceLocation)
        let hexToken = /[0-9a-f]{64}/
        for text in texts {
            for secret in secrets where text.contains(secret) {
                Issue.record(
                    "a secret (\(secret.prefix(3))…) appears in: \(text.prefix(2000))", sourceLocation: sourceLocation)
            }
            if let match = text.firstMatch(of: hexToken) {
                Issue.record(
                    "a token-shaped string (\(match.output.prefix(6))…) appears in: \(text.prefix(2000))",
                    sourceLocation: sourceLocation)
            }
        }
    }
}

/// The database a harness mirrors into: a fresh one on the test server, or another.
struct MirrorDatabase: Sendable {
    var url: String
    var drop: @Sendable () async -> Void

    static func fresh() async throws -> MirrorDatabase {
        let database = try await TestDatabase.create(prefix: "cli")
        return MirrorDatabase(url: database.url, drop: { await database.drop() })
    }

    func connect() async throws -> PGConnection {
        try await PGConnection.connect(url, logger: CLIHarness.logger)
    }
}

/// Suites whose tests take over a minute run only with `PODIO_MIRROR_LONG_TESTS=1` (`make test-long`).
let longTestsEnabled = ProcessInfo.processInfo.environment["PODIO_MIRROR_LONG_TESTS"] == "1"
