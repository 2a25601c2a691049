import Foundation
import LibPQ
import PodioSimulator

/// One mode of the freshness bench: a simulator with the real quota ratio in a scaled window,
/// a fresh database, `podio-mirror run` in the background, a steady stream of changes, and a
/// probe of the app tables for when each change shows.
struct FreshnessRun {
    enum Mode: String, Sendable {
        case polling, hooks
    }

    let options: Freshness
    let serverURL: String
    let binary: String

    /// Real seconds per wall second.
    var scale: Double { 3600 / options.window }

    /// A real duration as the scaled one the engine is given ("1.2s").
    func scaled(_ realSeconds: Double) -> String {
        String(format: "%.3fs", realSeconds / scale)
    }

    func log(_ line: String) { Runner.log("freshness: \(line)") }

    func run(_ mode: Mode) async throws -> FreshnessReport.Mode {
        var configuration = PodioSimulator.Configuration()
        configuration.seed = options.seed
        configuration.rateLimit = 250
        configuration.rateLimitGeneral = 1000
        configuration.rateWindow = options.window
        configuration.allowLoopbackHooks = true
        configuration.hookTimeout = 5
        configuration.apps = (1...options.apps).map { index in
            PodioSimulator.AppSpec(
                name: "Fresh \(index)", urlLabel: "fresh-\(index)", itemCount: options.itemsPerApp, fields: .simple)
        }
        let simulator = try await PodioSimulator.start(configuration)
        let database: BenchDatabase
        do {
            database = try await BenchDatabase.create(serverURL: serverURL, label: "fresh_\(mode.rawValue)")
        } catch {
            try? await simulator.shutdown()
            throw error
        }
        var engine: RunningChild?
        do {
            let result = try await measure(
                mode, simulator: simulator, configuration: configuration, database: database, engine: &engine)
            await database.drop()
            try await simulator.shutdown()
            return result
        } catch {
            if let engine { _ = await engine.stop(grace: 5) }
            await database.drop()
            try? await simulator.shutdown()
            throw error
        }
    }

    private func environment(
        _ database: BenchDatabase, _ simulator: PodioSimulator, _ configuration: PodioSimulator.Configuration
    )
        -> [String: String]
    {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PODIO_") }
        env["DATABASE_URL"] = database.url
        env["PODIO_API_URL"] = simulator.baseURL
        env["PODIO_CLIENT_ID"] = configuration.clientID
        env["PODIO_CLIENT_SECRET"] = configuration.clientSecret
        env["PODIO_USERNAME"] = configuration.username
        env["PODIO_PASSWORD"] = configuration.password
        env["PODIO_APPS"] = simulator.appIDs().map(String.init).joined(separator: ",")
        // Podio's quotas; every interval of the engine scaled like the window.
        env["PODIO_RATE_LIMIT"] = "250"
        env["PODIO_RATE_LIMIT_GENERAL"] = "1000"
        env["PODIO_RATE_WINDOW"] = scaled(3600)
        env["PODIO_APPS_REFRESH"] = scaled(3600)
        env["PODIO_SWEEP_INTERVAL"] = scaled(options.sweepHours * 3600)
        env["PODIO_RECONCILE_EVERY"] = scaled(options.reconcileHours * 3600)
        // How long a hook may still be on its way after a change (the engine's default 30 s).
        env["PODIO_HOOK_GRACE"] = scaled(30)
        // The bench measures items; comments would cost general calls for the seeded ones.
        env["PODIO_COMMENTS"] = "off"
        env["PODIO_LOG_LEVEL"] = "warning"
        return env
    }

    private func measure(
        _ mode: Mode, simulator: PodioSimulator, configuration: PodioSimulator.Configuration,
        database: BenchDatabase, engine: inout RunningChild?
    ) async throws -> FreshnessReport.Mode {
        let started = ContinuousClock.now
        let env = environment(database, simulator, configuration)
        let migrate = try await Child.run(binary, ["migrate"], environment: env)
        guard migrate.ok else {
            throw Bench.Failure("podio-mirror migrate exited with \(migrate.status): \(migrate.stderr)")
        }
        log("\(mode.rawValue): first full sync of \(options.apps) apps")
        let first = try await Child.run(binary, ["sync"], environment: env)
        guard first.ok else {
            throw Bench.Failure("podio-mirror sync exited with \(first.status): \(first.stderr.suffix(2000))")
        }

        let db = try await database.connect()
        defer { db.close() }
        var probe = StalenessProbe(db: db)
        try await probe.loadTables()
        guard probe.tables.count == options.apps else {
            throw Bench.Failure(
                "after the first sync \(probe.tables.count) of \(options.apps) apps have a table in podio_apps")
        }
        let rows = try await db.run { db in
            try db.query("SELECT app_id, item_id, revision FROM podio.items WHERE deleted_at IS NULL").rows
        }
        var live: [Int: [Int: Int]] = [:]
        for row in rows {
            guard let appID = row.int("app_id"), let itemID = row.int("item_id") else { continue }
            live[appID, default: [:]][itemID] = row.int("revision") ?? 0
        }

        var arguments = ["run", "--every", scaled(options.every)]
        var port = 0
        if mode == .hooks {
            port = try FreePort.pick()
            arguments += ["--listen", "127.0.0.1:\(port)"]
        }
        let child = try RunningChild.start(binary, arguments, environment: env, name: mode.rawValue)
        engine = child
        if mode == .hooks {
            try await installHooks(env: env, port: port, simulator: simulator, engine: child)
        }

        simulator.resetStats()
        let periodStart = try await FreshnessTurns.now(db)
        var stream = ChangeStream(live: live, seed: options.seed)
        var seen: [(kind: ChangeStream.Kind, wall: Double)] = []
        let changeEvery = Duration.seconds(3600 / options.changesPerHour / scale)
        let streamEnd = ContinuousClock.now + .seconds(options.streamHours * 3600 / scale)
        let drainEnd = streamEnd + .seconds(options.drainHours * 3600 / scale)
        let pollEvery = Duration.milliseconds(options.pollMs)
        var nextChange = ContinuousClock.now
        var nextPoll = ContinuousClock.now
        log(
            "\(mode.rawValue): \(options.changesPerHour) changes/h for \(options.streamHours) h (\(Int(options.streamHours * 3600 / scale)) s)"
        )
        while true {
            let now = ContinuousClock.now
            if let status = child.exited() {
                throw Bench.Failure("podio-mirror run exited with \(status): \(child.stderrTail())")
            }
            if now < streamEnd && now >= nextChange {
                try stream.next(on: simulator)
                nextChange += changeEvery
                continue
            }
            if now >= nextPoll {
                let pollStart = ContinuousClock.now
                var byApp: [Int: [Int]] = [:]
                for change in stream.pending.values { byApp[change.appID, default: []].append(change.itemID) }
                let present = try await probe.rows(byApp)
                for change in stream.pending.values {
                    let shown: Bool
                    switch change.kind {
                    case .create, .edit: shown = (present[change.itemID] ?? -1) >= change.revision
                    case .delete: shown = present[change.itemID] == nil
                    }
                    if shown, let done = stream.resolve(change.itemID) {
                        seen.append((done.kind, Bench.seconds(pollStart - done.applied)))
                    }
                }
                nextPoll = pollStart + pollEvery
            }
            if now >= streamEnd && (stream.pending.isEmpty || now >= drainEnd) { break }
            let wake = now < streamEnd ? min(nextChange, nextPoll) : nextPoll
            if wake > ContinuousClock.now { try await Task.sleep(until: wake, clock: .continuous) }
        }
        let unseen = stream.pending.count
        log("\(mode.rawValue): stream done, \(seen.count) changes seen, \(unseen) unseen; stopping the engine")
        let stats = simulator.stats()
        let hooks = simulator.hooks()
        let status = await child.stop()
        engine = nil
        let periodEnd = try await FreshnessTurns.now(db)
        let turns = try await FreshnessTurns.read(
            db, from: periodStart, to: periodEnd, apps: options.apps, scale: scale)

        // The end state against the simulator's truth.
        let truth = try Self.truthRevisions(simulator.truth())
        let mirrored = try await probe.allRows()
        var result = FreshnessReport.Mode(name: mode.rawValue, available: true)
        result.missing = truth.keys.filter { mirrored[$0] == nil }.count
        result.extra = mirrored.keys.filter { truth[$0] == nil }.count
        result.different = truth.filter { id, revision in mirrored[id].map { $0 != revision } ?? false }.count
        result.changes = Dictionary(uniqueKeysWithValues: stream.applied.map { ($0.key.rawValue, $0.value) })
        result.seen = seen.count
        result.unseen = unseen
        let real = seen.map { $0.wall * scale }.sorted()
        result.medianSeconds = FreshnessReport.percentile(real, 50)
        result.p95Seconds = FreshnessReport.percentile(real, 95)
        result.maxSeconds = real.last
        for kind in [ChangeStream.Kind.create, .edit, .delete] {
            let times = seen.filter { $0.kind == kind }.map { $0.wall * scale }.sorted()
            if let median = FreshnessReport.percentile(times, 50) { result.medianByKind[kind.rawValue] = median }
        }
        result.rateLimitErrors = stats.rateLimitErrors
        result.callsByTier = stats.callsByTier
        result.maxCallsInWindow = stats.maxCallsInWindow
        if mode == .hooks {
            result.hooksDelivered = hooks.reduce(0) { $0 + $1.delivered }
            result.hooksDropped = hooks.reduce(0) { $0 + $1.dropped }
            result.hooksFailed = hooks.reduce(0) { $0 + $1.failed }
        }
        result.callsByPurpose = stats.callsByPurpose
        result.turns = turns
        switch mode {
        case .polling:
            result.bound = FreshnessBound.polling(
                apps: options.apps, quota: configuration.rateLimit, callsPerTurn: turns.rateLimitedCallsPerTurnAll,
                median: result.medianSeconds, p95: result.p95Seconds)
        case .hooks:
            result.bound = FreshnessBound.hooks(
                apps: options.apps, quota: configuration.rateLimit, drop: options.drop, p95: result.p95Seconds)
        }
        result.engineExitStatus = status
        result.wallSeconds = Bench.seconds(ContinuousClock.now - started)
        return result
    }

    /// Live item_id → revision of every app in `GET /_sim/truth`.
    static func truthRevisions(_ data: Data) throws -> [Int: Int] {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let apps = root["apps"] as? [[String: Any]]
        else { throw Bench.Failure("the simulator's truth is not the expected JSON") }
        var out: [Int: Int] = [:]
        for app in apps {
            for item in app["items"] as? [[String: Any]] ?? [] {
                if let id = item["item_id"] as? Int { out[id] = item["revision"] as? Int ?? 0 }
            }
        }
        return out
    }

    /// `hooks install` against the receiver of the running engine, 20 % of deliveries dropped
    /// from then on, then a window for the quota the install spent to come back.
    private func installHooks(env: [String: String], port: Int, simulator: PodioSimulator, engine: RunningChild)
        async throws
    {
        try await waitForListener(port: port, engine: engine)
        log("hooks: install on \(options.apps) apps")
        let install = try await Child.run(
            binary, ["hooks", "install", "--url", "http://127.0.0.1:\(port)"], environment: env)
        guard install.ok else {
            throw Bench.Failure(
                "podio-mirror hooks install exited with \(install.status): \(install.stderr.suffix(2000)) \(install.stdout.suffix(2000))"
            )
        }
        let active = simulator.hooks().filter { !$0.deleted && $0.status == "active" }.count
        log("hooks: \(active) active; \(Int(options.drop * 100)) % of deliveries dropped from now on")
        simulator.setHookFaults(PodioSimulator.HookFaults(dropRate: options.drop, seed: options.seed))
        let settle = options.window * options.settleWindows
        log("hooks: waiting \(Int(settle)) s (\(options.settleWindows) window) for the install's quota to come back")
        try await Task.sleep(for: .seconds(settle))
    }

    private func waitForListener(port: Int, engine: RunningChild) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let status = engine.exited() {
                throw Bench.Failure("podio-mirror run exited with \(status): \(engine.stderrTail())")
            }
            if FreePort.isListening(port) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Bench.Failure("podio-mirror run --listen did not listen on 127.0.0.1:\(port) within 30 s")
    }
}
