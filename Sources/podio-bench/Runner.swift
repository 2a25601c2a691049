import Foundation
import LibPQ
import Logging
import PodioAPI
import PodioSimulator

/// Runs the scenarios: a simulator with one every-field-type app, a fresh database, the real binary.
struct Runner: Sendable {
    let binary: String
    let serverURL: String
    let seed: UInt64

    static let logger = Logger(label: "podio-bench") { _ in SwiftLogNoOpLogHandler() }

    static func log(_ line: String) {
        FileHandle.standardError.write(Data("podio-bench: \(line)\n".utf8))
    }

    /// The every-field-type app of the ingest, delta, reader and memory runs.
    static func projects(items: Int) -> PodioSimulator.AppSpec {
        PodioSimulator.AppSpec(name: "Bench Projects", urlLabel: "bench-projects", itemCount: items, fields: .everyType)
    }

    func startSimulator(_ app: PodioSimulator.AppSpec) async throws -> (
        PodioSimulator, PodioSimulator.Configuration, Int
    ) {
        var configuration = PodioSimulator.Configuration()
        configuration.seed = seed
        configuration.rateLimit = 0
        configuration.rateLimitGeneral = 0
        configuration.apps = [app]
        let simulator = try await PodioSimulator.start(configuration)
        guard let appID = simulator.appIDs().first else {
            try await simulator.shutdown()
            throw Bench.Failure("the simulator has no app")
        }
        return (simulator, configuration, appID)
    }

    /// The environment of `podio-mirror`: this process's, without any PODIO_ settings, plus the bench's.
    func environment(
        database: BenchDatabase, simulator: PodioSimulator, configuration: PodioSimulator.Configuration, appID: Int
    ) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PODIO_") }
        env["DATABASE_URL"] = database.url
        env["PODIO_API_URL"] = simulator.baseURL
        env["PODIO_CLIENT_ID"] = configuration.clientID
        env["PODIO_CLIENT_SECRET"] = configuration.clientSecret
        env["PODIO_USERNAME"] = configuration.username
        env["PODIO_PASSWORD"] = configuration.password
        env["PODIO_APPS"] = String(appID)
        // The simulator's quotas are off; the engine's ledger must not stop a large run either.
        env["PODIO_RATE_LIMIT"] = "1000000"
        env["PODIO_RATE_LIMIT_GENERAL"] = "1000000"
        // The bench measures the item sync; comments (a call per item with comments) are apart.
        env["PODIO_COMMENTS"] = "off"
        return env
    }

    func migrate(_ env: [String: String]) async throws {
        let outcome = try await Child.run(binary, ["migrate"], environment: env)
        guard outcome.ok else {
            throw Bench.Failure("podio-mirror migrate exited with \(outcome.status): \(outcome.stderr)")
        }
    }

    /// One `podio-mirror sync --json`, with the calls the simulator served during it.
    func sync(_ env: [String: String], simulator: PodioSimulator) async throws -> SyncRun {
        try await checkpoint()
        await waitForHalfSecond()
        simulator.resetStats()
        let child = try await Child.run(binary, ["sync", "--json"], environment: env)
        let served = simulator.stats().callsByTier.values.reduce(0, +)
        return try SyncRun(child: child, callsServed: served)
    }

    /// Waits until the wall clock is half past a second. A run's first pass waits for the end of
    /// the second the run started in (0–1 s); starting every run at the same point of a second
    /// makes that wait about the same each time, so that short runs (the deltas) compare.
    func waitForHalfSecond() async {
        let now = Date().timeIntervalSince1970
        var wait = 0.5 - (now - now.rounded(.down))
        if wait <= 0 { wait += 1 }
        try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
    }

    /// Flushes dirty buffers between phases, so one phase's writes are not paid by the next.
    func checkpoint() async throws {
        let admin = try await PGConnection.connect(serverURL, applicationName: "podio-bench", logger: Self.logger)
        defer { admin.close() }
        _ = try await admin.run { try $0.execute("CHECKPOINT") }
    }

    // MARK: - Scenarios

    /// Ingest, COPY baseline, unchanged and changed delta, then the reader section on the result.
    func main(items: Int, changePercent: Double, reader: Bool, report: inout Report) async throws {
        Self.log("simulator with \(items) items")
        let (simulator, configuration, appID) = try await startSimulator(Self.projects(items: items))
        do {
            // The baseline first: its fetch is the first read of the simulator (cold), and leaves
            // the simulator's render cache warm for the engine, as it is for every later run.
            Self.log("baseline: fetching the pages and COPYing them into one jsonb column")
            report.baseline = try await baseline(simulator: simulator, configuration: configuration, appID: appID)

            let database = try await BenchDatabase.create(serverURL: serverURL, label: "main")
            let env = environment(database: database, simulator: simulator, configuration: configuration, appID: appID)
            try await migrate(env)
            Self.log("full sync of \(items) items")
            report.fullSync = try await sync(env, simulator: simulator)
            Self.log("unchanged delta")
            report.unchangedDelta = try await sync(env, simulator: simulator)

            let db = try await database.connect()
            let ids: [Int] = try await db.run { db in
                try db.query("SELECT item_id FROM podio.items WHERE deleted_at IS NULL ORDER BY item_id").rows
                    .compactMap { $0.int("item_id") }
            }
            db.close()
            let edits = max(1, Int((Double(ids.count) * changePercent / 100).rounded()))
            let step = max(1, ids.count / edits)
            let edited = stride(from: 0, to: ids.count, by: step).prefix(edits).map { ids[$0] }
            for id in edited { try simulator.editItem(itemID: id) }
            report.itemsEdited = edited.count
            // Edits carry the current second; the next sync's upper bound is the second it starts.
            try await Task.sleep(for: .seconds(1.1))
            Self.log("changed delta (\(edited.count) items edited)")
            report.changedDelta = try await sync(env, simulator: simulator)
            if reader {
                try await checkpoint()
                let db = try await database.connect()
                defer { db.close() }
                report.reader = try await db.run { try ReaderSection.run($0, appID: appID) }
            }
            await database.drop()
        } catch {
            try? await simulator.shutdown()
            throw error
        }
        try await simulator.shutdown()
    }

    /// An app of `fields` fields (`FieldSet.wide`): its COPY baseline, then a full sync, on a
    /// fresh simulator and database.
    func wide(items: Int, fields: Int) async throws -> Report.Wide {
        let app = PodioSimulator.AppSpec(
            name: "Bench Wide", urlLabel: "bench-wide", itemCount: items, fields: .wide(fields: fields))
        let (simulator, configuration, appID) = try await startSimulator(app)
        do {
            Self.log("wide app: baseline of \(items) items with \(fields) fields")
            let baseline = try await baseline(simulator: simulator, configuration: configuration, appID: appID)
            let database = try await BenchDatabase.create(serverURL: serverURL, label: "wide")
            let env = environment(database: database, simulator: simulator, configuration: configuration, appID: appID)
            try await migrate(env)
            Self.log("wide app: full sync")
            let run = try await sync(env, simulator: simulator)
            await database.drop()
            try await simulator.shutdown()
            return Report.Wide(fields: fields, items: items, baseline: baseline, fullSync: run)
        } catch {
            try? await simulator.shutdown()
            throw error
        }
    }

    /// A full sync on a fresh simulator and database (the memory pair).
    func fullSyncOnly(items: Int) async throws -> SyncRun {
        let (simulator, configuration, appID) = try await startSimulator(Self.projects(items: items))
        do {
            let database = try await BenchDatabase.create(serverURL: serverURL, label: "mem\(items)")
            let env = environment(database: database, simulator: simulator, configuration: configuration, appID: appID)
            try await migrate(env)
            let run = try await sync(env, simulator: simulator)
            await database.drop()
            try await simulator.shutdown()
            return run
        } catch {
            try? await simulator.shutdown()
            throw error
        }
    }

    /// The pages of the app as the engine receives them, then one COPY of the items into a
    /// table with one jsonb column (one row per item).
    func baseline(simulator: PodioSimulator, configuration: PodioSimulator.Configuration, appID: Int) async throws
        -> Report.Baseline
    {
        let transport = AsyncHTTPClientTransport(connectTimeout: 10, readTimeout: 120)
        let client = PodioClient(
            configuration: PodioClient.Configuration(
                apiURL: simulator.baseURL,
                apiKey: PodioAPIKey(clientID: configuration.clientID, clientSecret: configuration.clientSecret),
                credentials: .password(username: configuration.username, password: configuration.password)),
            transport: transport, logger: Self.logger)
        var raws: [String] = []
        var bytes = 0
        let fetchStarted = ContinuousClock.now
        do {
            var offset = 0
            while true {
                let page = try await client.filterItems(appID: appID, ItemFilter(sortBy: .itemID, offset: offset))
                for item in page.items {
                    bytes += item.raw.count
                    raws.append(String(decoding: item.raw, as: UTF8.self))
                }
                offset += page.items.count
                if page.items.count < PageSize.maximum.value || offset >= page.filtered { break }
            }
        } catch {
            try? await transport.shutdown()
            throw error
        }
        let fetchSeconds = Bench.seconds(ContinuousClock.now - fetchStarted)
        try? await transport.shutdown()

        let database = try await BenchDatabase.create(serverURL: serverURL, label: "copy")
        let db = try await database.connect()
        // The same compression choice as podio-mirror's (SyncCoordinator): lz4 when the server
        // has it and nobody chose otherwise, so the ratio compares the work, not the codec.
        let compression: String = try await db.run { db in
            try db.query(
                """
                SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings
                WHERE name = 'default_toast_compression' AND source = 'default' AND 'lz4' = ANY (enumvals)
                """)
            try db.execute("CREATE TABLE bench_copy (raw jsonb NOT NULL)")
            return try db.query("SHOW default_toast_compression").first?[0] ?? "?"
        }
        try await checkpoint()
        let rows = raws
        let copyStarted = ContinuousClock.now
        let copied = try await db.run { db in
            try db.copyIn("COPY bench_copy (raw) FROM STDIN") { writer in
                for raw in rows { try writer.writeRow([raw]) }
            }
        }
        let copySeconds = Bench.seconds(ContinuousClock.now - copyStarted)
        db.close()
        await database.drop()
        guard copied == raws.count else { throw Bench.Failure("COPY wrote \(copied) rows of \(raws.count)") }
        return Report.Baseline(
            items: raws.count, averageItemBytes: raws.isEmpty ? 0 : bytes / raws.count, fetchSeconds: fetchSeconds,
            copySeconds: copySeconds, compression: compression)
    }
}
