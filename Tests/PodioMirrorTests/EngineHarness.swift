import Foundation
import LibPQ
import Logging
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

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
        simulatorLimits: (Int, Int, Double)? = nil, tokenTTL: Int = 28800, comments: Bool = false,
        configure: (inout PodioSimulator.Configuration) -> Void = { _ in }
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
        configure(&configuration)
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
        // Comments cost a general call per item with comments after a full load; the tests of
        // item syncs count calls, so they are on only where a test asks (CommentTests).
        settings.comments = comments
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
        env["PODIO_COMMENTS"] = settings.comments ? "on" : "off"
        env["PODIO_DEEP_HISTORY"] = settings.deepHistory == .off ? "off" : nil
        return env
    }

    /// Runs `body` with a harness and always closes it (the HTTP client must be shut down),
    /// holding `slots` of the suite's shared gate (`TestSlots`) meanwhile.
    static func with(
        apps: [PodioSimulator.AppSpec]? = nil, items: Int = 100, seed: UInt64 = 7, quota: QuotaPolicy? = nil,
        simulatorLimits: (Int, Int, Double)? = nil, tokenTTL: Int = 28800, comments: Bool = false,
        configure: (inout PodioSimulator.Configuration) -> Void = { _ in }, slots: Int = 1,
        _ body: (EngineHarness) async throws -> Void
    ) async throws {
        try await TestSlots.with(weight: slots) {
            let h = try await EngineHarness(
                apps: apps, items: items, seed: seed, quota: quota, simulatorLimits: simulatorLimits,
                tokenTTL: tokenTTL, comments: comments, configure: configure)
            do {
                try await body(h)
            } catch {
                await h.close()
                throw error
            }
            await h.close()
        }
    }

    func close() async {
        db.close()
        try? await transport.shutdown()
        try? await simulator.shutdown()
        await database.drop()
    }

    func coordinator(
        settings: MirrorSettings? = nil, clock: any WallClock = SystemClock(), observer: SyncObserver? = nil
    ) -> SyncCoordinator {
        SyncCoordinator(
            settings: settings ?? self.settings, transport: transport, clock: clock, observer: observer,
            logger: Self.logger)
    }

    @discardableResult
    func sync(_ kind: SyncOptions.Kind = .sync, apps: [Int]? = nil, dryRun: Bool = false, observer: SyncObserver? = nil)
        async throws -> RunSummary
    {
        try await waitForEarlierRunsToLetGo()
        return try await coordinator(observer: observer).run(SyncOptions(kind: kind, apps: apps, dryRun: dryRun))
    }

    /// Waits until no session of an earlier run holds an app lock in this database. A run closes
    /// its connection when it ends, but PostgreSQL releases the run's session locks only once
    /// that backend has exited, a moment later: on a busy machine a run started at once found
    /// its app still locked and deferred ("another podio-mirror run is syncing app …").
    /// (`SyncCoordinator` could release its locks before it closes the connection.)
    func waitForEarlierRunsToLetGo() async throws {
        let deadline = Date().addingTimeInterval(30)
        while try await count(
            """
            SELECT count(*) FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """) > 0
        {
            guard Date() < deadline else {
                Issue.record("an earlier run's session still holds its app locks after 30 s")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func scalar(_ sql: String, _ params: [(any PGEncodable)?] = []) async throws -> String? {
        try await db.run { try $0.query(sql, params).first?[0] }
    }

    func count(_ sql: String, _ params: [(any PGEncodable)?] = []) async throws -> Int {
        Int(try await scalar(sql, params) ?? "") ?? -1
    }

    /// Differences between the mirror and the simulator's ground truth for the given apps (all
    /// apps when nil); see `MirrorComparison`. Empty means equal.
    func differences(apps: [Int]? = nil) async throws -> [String] {
        let truth = String(decoding: simulator.truth(), as: UTF8.self)
        let ids = apps ?? simulator.appIDs()
        return try await db.run { try MirrorComparison.differences($0, truth: truth, apps: ids) }
    }
}
