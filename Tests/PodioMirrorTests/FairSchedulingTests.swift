import Foundation
import LibPQ
import MetricsTestKit
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

@testable import PodioMirror

/// Issue 16: apps in order of need, the cached app list, apps Podio stopped serving, apps held by
/// other runs, freshness and the schedule in `status`, and the engine's metrics.
@Suite("Fair scheduling: order of need, the app list, held and gone apps, freshness")
struct FairSchedulingTests {
    static let small = [
        PodioSimulator.AppSpec(name: "Alpha", urlLabel: "alpha", itemCount: 30, fields: .simple),
        PodioSimulator.AppSpec(name: "Bravo", urlLabel: "bravo", itemCount: 20, fields: .simple),
        PodioSimulator.AppSpec(name: "Charlie", urlLabel: "charlie", itemCount: 10, fields: .simple),
        PodioSimulator.AppSpec(name: "Delta", urlLabel: "delta", itemCount: 5, fields: .simple),
    ]

    private func withDatabase(_ body: (PGConnection) async throws -> Void) async throws {
        try await TestSlots.with {
            let database = try await TestDatabase.create(prefix: "fair")
            let db = try await database.connect()
            try await db.run { _ = try SchemaMigrator.migrate($0, logger: TestDatabase.logger) }
            do {
                try await body(db)
            } catch {
                db.close()
                await database.drop()
                throw error
            }
            db.close()
            await database.drop()
        }
    }

    /// The apps a run took up, in the order it took them.
    private func passOrder(_ h: EngineHarness, run: Int64) async throws -> [Int] {
        try await h.db.run {
            try $0.query("SELECT app_id FROM podio.app_passes WHERE run_id = $1 ORDER BY pass_id", [run])
        }
        .rows.compactMap { $0.int("app_id") }
    }

    @Test func appsAreTakenInOrderOfNeed() async throws {
        try await withDatabase { db in
            try await db.run { db in
                for id in 1...5 {
                    try db.query(
                        "INSERT INTO podio.apps (app_id, name, status, raw) VALUES ($1, $2, 'active', '{}')",
                        [id, "app \(id)"])
                }
                // 1 and 5 complete (5 the freshest), 2 the stalest complete, 3 never synced, 4 half-loaded.
                try db.execute(
                    """
                    INSERT INTO podio.sync_state (app_id, high_water_mark, last_full_sync_at) VALUES
                        (1, '2026-01-01 10:00Z', '2026-01-01 08:00Z'), (2, '2026-01-01 09:00Z', '2026-01-02 00:00Z'),
                        (5, '2026-01-01 11:00Z', '2026-01-01 09:00Z');
                    INSERT INTO podio.sync_state (app_id, full_pass_run_id, full_pass_cutoff, full_pass_offset)
                    VALUES (4, 7, '2026-01-01 00:00Z', 500);
                    """)
            }
            let store = MirrorStore(db: db)
            let deltas = try await db.run { _ in try store.scheduling.appsInNeed([1, 2, 3, 4, 5], fullPasses: false) }
            #expect(deltas == [4, 3, 2, 1, 5])
            // A resync goes by the last full pass instead.
            let resyncs = try await db.run { _ in try store.scheduling.appsInNeed([1, 2, 3, 4, 5], fullPasses: true) }
            #expect(resyncs == [4, 3, 1, 5, 2])
            // Ties keep the order given.
            let ties = try await db.run { _ in try store.scheduling.appsInNeed([9, 8, 7], fullPasses: false) }
            #expect(ties == [9, 8, 7])
        }
    }

    @Test func aDeferredRunsRemainingAppsComeFirstInTheNext() async throws {
        try await EngineHarness.with(apps: Self.small) { h in
            let ids = h.simulator.appIDs()
            let clock = TestClock(Date())
            var settings = h.settings
            let first = try await h.coordinator(settings: settings, clock: clock).run(
                SyncOptions(kind: .sync, apps: ids))
            #expect(first.status == .succeeded)
            // Two calls an hour from now on: the quota's pace is a delta of each of the four apps
            // every two hours. Three hours later all are stale: two deltas, then the run defers.
            settings.quota = QuotaPolicy(rateLimited: 2, general: 100, window: 3600, reserve: 0)
            let run = {
                try await h.coordinator(settings: settings, clock: clock).run(
                    SyncOptions(kind: .sync, apps: ids, maxWait: 0))
            }
            clock.advance(3 * 3600)
            await #expect(throws: MirrorError.self) { _ = try await run() }
            let second = try #require(Int64(try await h.scalar("SELECT max(run_id) FROM podio.sync_runs") ?? ""))
            #expect(try await passOrder(h, run: second) == Array(ids.prefix(3)))
            #expect(try await h.scalar("SELECT status FROM podio.sync_runs WHERE run_id = $1", [second]) == "deferred")
            // An hour later: the third app (cut short) and the fourth (never reached) first; the
            // first two, synced an hour ago, are fresher than the pace: skipped, not waited for.
            clock.advance(3601)
            let third = try await run()
            #expect(try await passOrder(h, run: third.runID) == [ids[2], ids[3]])
            #expect(third.status == .succeeded)
            #expect(third.skipped.map(\.appID) == [ids[0], ids[1]] && third.skipped.allSatisfy { $0.reason == .fresh })
            #expect(third.line.contains("skipped 2 apps (2 fresh while the quota is spent)"))
            // Three hours later all are stale again: the oldest bounds (the first two) first.
            clock.advance(3 * 3600)
            await #expect(throws: MirrorError.self) { _ = try await run() }
            #expect(try await passOrder(h, run: third.runID + 1) == [ids[0], ids[1], ids[2]])
            #expect(h.simulator.stats().rateLimitErrors == 0)
        }
    }

    /// Issue 25: a scheduled run (`run --every`) gives an app a turn about once per the quota's
    /// pace, not whenever a call is free. Before, every run spent the free calls on apps synced
    /// a moment ago, and the turns bunched: all apps in a few runs, then none while the calls
    /// left the window.
    @Test func scheduledTurnsComeAtTheQuotasPaceNotWheneverACallIsFree() async throws {
        try await EngineHarness.with(apps: Self.small) { h in
            let ids = h.simulator.appIDs()
            let clock = TestClock(Date())
            var settings = h.settings
            settings.quota = QuotaPolicy(rateLimited: 8, general: 100, window: 3600, reserve: 0)
            let first = try await h.coordinator(settings: settings, clock: clock).run(
                SyncOptions(kind: .sync, apps: ids))
            #expect(first.apps.count == 4 && first.callsRateLimited == 4)
            // A turn of each of the 4 apps (one call each) fits 8 calls an hour every 30 minutes.
            // Runs every 10 minutes: an app's turn is due when it is older than 30 - 10 / 2 = 25.
            var options = SyncOptions(kind: .sync, apps: ids, maxWait: 0)
            options.every = 600
            var turns: [Int] = []
            for _ in 0..<6 {
                clock.advance(600)
                let run = try await h.coordinator(settings: settings, clock: clock).run(options)
                #expect(run.status == .succeeded)
                turns.append(run.apps.count)
                if run.apps.isEmpty {
                    #expect(run.skipped.count == 4 && run.skipped.allSatisfy { $0.reason == .paced })
                    #expect(run.line.contains("skipped 4 apps (4 not due yet at the quota's pace)"), "\(run.line)")
                }
            }
            // At 10 and 20 minutes, none (4 calls were free); at 30, all four; then again at 60.
            #expect(turns == [0, 0, 4, 0, 0, 4])
            #expect(h.simulator.stats().rateLimitErrors == 0)
        }
    }

    /// A small app's listing that defers at its first call leaves no half-done full load behind:
    /// the next turn lists it again (one call, no definition read), not a full pass first.
    @Test func aListingThatDefersIsListedAgainNotResumedAsAFullLoad() async throws {
        try await EngineHarness.with(apps: Array(Self.small.prefix(1))) { h in
            let clock = TestClock(Date())
            var settings = h.settings
            _ = try await h.coordinator(settings: settings, clock: clock).run(SyncOptions(kind: .sync))
            // Two calls an hour, both spent by the first run (the app list and the load): 2,000 s
            // later the app is older than the pace (1,800 s) and waited for, past --max-wait 0.
            settings.quota = QuotaPolicy(rateLimited: 2, general: 100, window: 3600, reserve: 0)
            clock.advance(2000)
            let ids = h.simulator.appIDs()
            await #expect(throws: MirrorError.self) {
                _ = try await h.coordinator(settings: settings, clock: clock).run(
                    SyncOptions(kind: .sync, apps: ids, maxWait: 0))
            }
            #expect(try await h.scalar("SELECT mode FROM podio.app_passes ORDER BY pass_id DESC LIMIT 1") == "listing")
            #expect(try await h.scalar("SELECT full_pass_run_id::text FROM podio.sync_state") == nil)
            let definitions = h.simulator.stats().callsByEndpoint["GET /app/{app_id}", default: 0]
            clock.advance(3600)
            let next = try await h.coordinator(settings: settings, clock: clock).run(
                SyncOptions(kind: .sync, apps: ids, maxWait: 0))
            #expect(next.apps.map(\.mode) == [.listing])
            #expect(h.simulator.stats().callsByEndpoint["GET /app/{app_id}", default: 0] == definitions)
            #expect(try await h.differences() == [])
        }
    }

    @Test func theAppListIsAskedOfPodioOncePerRefresh() async throws {
        try await EngineHarness.with(apps: Array(Self.small.prefix(2))) { h in
            let clock = TestClock(Date())
            let discovery = { h.simulator.stats().callsByEndpoint["GET /org/", default: 0] }
            _ = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync))
            #expect(discovery() == 1)
            clock.advance(600)
            let second = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync))
            #expect(second.apps.count == 2)
            #expect(discovery() == 1)
            #expect(h.simulator.stats().callsByEndpoint["GET /app/space/{space_id}/", default: 0] == 2)
            // Named apps: no discovery at all.
            clock.advance(3600)
            _ = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync, apps: [h.simulator.appIDs()[0]]))
            #expect(discovery() == 1)
            // Past PODIO_APPS_REFRESH (1h by default) the list is asked again, and a new app joins.
            let added = try h.simulator.addApp(.init(name: "Echo", urlLabel: "echo", itemCount: 3, fields: .simple))
            let third = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync))
            #expect(discovery() == 2)
            #expect(third.apps.map(\.appID).contains(added))
            // Other credentials do not use the list made for these.
            let cached = try await h.db.run { db in
                try MirrorStore(db: db).scheduling.cachedAppList(
                    identity: "user:podio-mirror-dev:someone.else@example.com", maxAge: 3600, now: clock.now())
            }
            #expect(cached == nil)
        }
    }

    @Test func anAppPodioNoLongerServesIsMarkedSkippedAndReported() async throws {
        try await EngineHarness.with(apps: Array(Self.small.prefix(3))) { h in
            let ids = h.simulator.appIDs()
            let clock = TestClock(Date())
            _ = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync))
            try h.simulator.deleteApp(appID: ids[1])
            let items = try await h.db.run {
                try $0.query("SELECT item_id FROM podio.items WHERE app_id = $1 LIMIT 1", [ids[0]])
            }
            try h.simulator.editItem(itemID: try #require(items.first?.int("item_id")))
            clock.advance(60)
            let second = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync))
            #expect(second.status == .succeeded)
            #expect(Set(second.apps.map(\.appID)) == [ids[0], ids[2]])
            #expect(second.itemsWritten == 1)
            #expect(
                second.skipped == [
                    SkippedApp(
                        appID: ids[1], reason: .gone, detail: second.skipped.first?.detail,
                        since: second.skipped.first?.since)
                ])
            #expect(second.skipped.first?.detail?.contains("answered 410") == true)
            #expect(second.line.contains("skipped 1 app (1 not visible to these credentials)"))
            // status says so, and when it is tried again.
            let report = try await h.db.run { try MirrorStatus.load($0, policy: h.settings.quota, now: clock.now()) }
            let gone = try #require(report.apps.first { $0.appID == ids[1] })
            #expect(gone.gone?.status == 410)
            #expect(report.hints.contains { $0.contains("app \(ids[1]): Podio no longer serves it") })
            // The next run does not ask Podio about it.
            let filtersBefore = h.simulator.stats().callsByEndpoint["POST /item/app/{app_id}/filter/", default: 0]
            clock.advance(60)
            let third = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync))
            #expect(third.skipped.map(\.appID) == [ids[1]])
            #expect(
                h.simulator.stats().callsByEndpoint["POST /item/app/{app_id}/filter/", default: 0] == filtersBefore + 2)
            // After the refresh the list no longer has it: nothing to skip.
            clock.advance(3600)
            let fourth = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync))
            #expect(fourth.skipped.isEmpty)
            #expect(Set(fourth.apps.map(\.appID)) == [ids[0], ids[2]])
            // Named alone, it is a usage error (exit 64), recorded as the run's failure.
            do {
                _ = try await h.coordinator(clock: clock).run(SyncOptions(kind: .sync, apps: [ids[1]]))
                Issue.record("a run of a gone app alone succeeded")
            } catch {
                let classified = MirrorError(classifying: error)
                #expect(classified.category == .usage)
                #expect(classified.message.contains("app \(ids[1]) is not visible to these credentials"))
            }
            #expect(
                try await h.scalar("SELECT error_category FROM podio.sync_runs ORDER BY run_id DESC LIMIT 1") == "usage"
            )
            let differences = try await h.differences(apps: [ids[0], ids[2]])
            #expect(differences == [])
        }
    }

    @Test func anAppAnotherRunHoldsIsSkippedNotAReasonToDefer() async throws {
        try await EngineHarness.with(apps: Array(Self.small.prefix(3))) { h in
            let ids = h.simulator.appIDs()
            try await h.sync(apps: ids)
            let holder = try await h.database.connect()
            defer { holder.close() }
            #expect(try await holder.run { try $0.tryAdvisoryLock(LockKeys.app(ids[0])) })
            for claiming in [SyncOptions.Claiming.oneAtATime, .allAtStart] {
                let summary = try await h.coordinator().run(SyncOptions(kind: .sync, apps: ids, claiming: claiming))
                #expect(summary.status == .succeeded)
                #expect(Set(summary.apps.map(\.appID)) == [ids[1], ids[2]])
                #expect(summary.skipped == [SkippedApp(appID: ids[0], reason: .heldByAnotherRun)])
                let skipped = try await h.scalar(
                    "SELECT apps_skipped::text FROM podio.sync_runs ORDER BY run_id DESC LIMIT 1")
                #expect(skipped == "{\(ids[0])}")
            }
            // Every app held: the run stops at once, records nothing, and says why (exit 75).
            for id in ids.dropFirst() { _ = try await holder.run { try $0.tryAdvisoryLock(LockKeys.app(id)) } }
            let runs = try await h.count("SELECT count(*) FROM podio.sync_runs")
            for claiming in [SyncOptions.Claiming.oneAtATime, .allAtStart] {
                do {
                    _ = try await h.coordinator().run(SyncOptions(kind: .sync, apps: ids, claiming: claiming))
                    Issue.record("a run with every app held did not defer")
                } catch {
                    #expect(error is AllAppsHeld)
                    #expect(MirrorError(classifying: error).category.exitCode == 75)
                    #expect(
                        MirrorError(classifying: error).message == "another podio-mirror run is syncing app \(ids[0])")
                }
            }
            #expect(try await h.count("SELECT count(*) FROM podio.sync_runs") == runs)
        }
    }

    @Test func theEngineCountsCallsItemsAndRunsThroughSwiftMetrics() async throws {
        try await EngineHarness.with(apps: [Self.small[0]]) { h in
            let metrics = TestMetrics()
            let appID = h.simulator.appIDs()[0]
            let coordinator = SyncCoordinator(
                settings: h.settings, transport: h.transport, metrics: MirrorMetrics(factory: metrics),
                logger: EngineHarness.logger)
            let summary = try await coordinator.run(SyncOptions(kind: .sync, apps: [appID]))
            let filters = try metrics.expectCounter(
                MirrorMetrics.Name.apiCalls, [("tier", "rate_limited"), ("code", "200")])
            #expect(filters.totalValue == Int64(summary.callsRateLimited))
            let general = try metrics.expectCounter(
                MirrorMetrics.Name.apiCalls, [("tier", "general"), ("code", "200")])
            #expect(general.totalValue == Int64(summary.callsGeneral))
            #expect(
                try metrics.expectCounter(MirrorMetrics.Name.itemsWritten, [("app_id", String(appID))]).totalValue == 30
            )
            #expect(
                try metrics.expectCounter(MirrorMetrics.Name.runs, [("kind", "sync"), ("outcome", "succeeded")])
                    .totalValue == 1)
            #expect(
                try metrics.expectTimer(MirrorMetrics.Name.runDuration, [("kind", "sync"), ("outcome", "succeeded")])
                    .values.count == 1)
            #expect(
                (try? metrics.expectCounter(MirrorMetrics.Name.apiCalls, [("tier", "rate_limited"), ("code", "420")]))
                    == nil)
        }
    }

    @Test func statusShowsFreshnessFlagsLagAndWeighsTheScheduleAgainstTheQuota() async throws {
        try await withDatabase { db in
            let now = Date()
            let store = MirrorStore(db: db)
            // Five apps chosen now, a worker syncing every minute: 300 calls an hour, 237 allowed.
            let worker = try await db.run { _ in
                try store.scheduling.markSelected([1, 2, 3, 4, 5], now: now)
                return try store.scheduling.registerWorker(host: "h", pid: 1, every: 60, resyncEvery: nil, listen: nil)
            }
            var report = try await db.run { try MirrorStatus.load($0, policy: QuotaPolicy(), now: now) }
            #expect(report.schedule?.source == .runEvery)
            #expect(report.schedule?.intervalSeconds == 60)
            #expect(report.budget?.apps == 5)
            #expect(report.budget?.callsPerHourNeeded == 300)
            #expect(report.budget?.callsPerHourAllowed == 237)
            #expect(report.budget?.covered == false)
            #expect(
                report.hints.contains {
                    $0.hasPrefix("the quota cannot cover the schedule: 5 apps need ~300 rate-limited calls an hour")
                        && $0.contains("the quota allows 237")
                })
            #expect(report.apps.map(\.appID) == [1, 2, 3, 4, 5])
            #expect(report.apps.allSatisfy { $0.completeUpTo == nil && !$0.behind })
            // App 1 complete up to an hour ago: behind (more than twice the interval); app 2 a second ago: not.
            try await db.run { db in
                for id in [1, 2] {
                    try db.query(
                        "INSERT INTO podio.apps (app_id, name, status, raw) VALUES ($1, 'x', 'active', '{}')", [id])
                }
                try db.query(
                    "INSERT INTO podio.sync_state (app_id, high_water_mark, last_full_sync_at) VALUES (1, $1, $1), (2, $2, $2)",
                    [now.addingTimeInterval(-3600), now.addingTimeInterval(-1)])
            }
            report = try await db.run { try MirrorStatus.load($0, policy: QuotaPolicy(), now: now) }
            let one = try #require(report.apps.first { $0.appID == 1 })
            #expect(one.behind && abs((one.lagSeconds ?? 0) - 3600) < 1)
            #expect(one.completeUpTo.map { abs($0.timeIntervalSince(now.addingTimeInterval(-3600))) < 0.01 } == true)
            #expect(report.apps.first { $0.appID == 2 }?.behind == false)
            #expect(
                report.hints.contains {
                    $0.hasPrefix("app 1 is behind its schedule: complete only up to") && $0.contains("1h ago")
                })
            // Without a worker, cron's spacing: four runs 15 minutes apart.
            try await db.run { db in
                try store.scheduling.workerStopped(worker)
                for n in 0..<4 {
                    try db.query(
                        "INSERT INTO podio.sync_runs (kind, status, started_at) VALUES ('sync', 'succeeded', $1)",
                        [now.addingTimeInterval(Double(n - 4) * 900)])
                }
            }
            report = try await db.run { try MirrorStatus.load($0, policy: QuotaPolicy(), now: now) }
            #expect(report.schedule?.source == .recentRuns)
            #expect(report.schedule?.intervalSeconds == 900)
            #expect(report.budget?.callsPerHourNeeded == 20)
            #expect(report.budget?.covered == true)
            #expect(report.scheduleDescription == "about every 15m (the spacing of the last 4 runs)")
        }
    }

    /// The tables of this issue came within schema version 3: a version-3 database made before
    /// them is told to migrate, and `migrate` adds them although the version did not change.
    @Test func aVersion3DatabaseWithoutTheNewTablesIsToldToMigrateAndMigrateAddsThem() async throws {
        try await withDatabase { db in
            #expect(SchemaMigrator.declaredObjects.tables.contains("podio.app_passes"))
            #expect(SchemaMigrator.declaredObjects.columns.contains { $0 == ("podio.sync_runs", "apps_skipped") })
            try await db.run { db in
                _ = try db.execute(
                    "DROP TABLE podio.workers, podio.app_list; ALTER TABLE podio.sync_runs DROP COLUMN apps_skipped")
            }
            do {
                try await db.run { try SchemaMigrator.requireCurrent($0) }
                Issue.record("a schema without the new tables passed as current")
            } catch let error as MirrorError {
                #expect(error.category == .usage)
                #expect(
                    error.message.hasPrefix("the database schema lacks podio.app_list and 2 more"), "\(error.message)")
                #expect(error.fix == "run `podio-mirror migrate` first")
            }
            let outcome = try await db.run { try SchemaMigrator.migrate($0, logger: TestDatabase.logger) }
            #expect(outcome == .applied(from: SchemaMigrator.currentVersion, to: SchemaMigrator.currentVersion))
            try await db.run { try SchemaMigrator.requireCurrent($0) }
            let again = try await db.run { try SchemaMigrator.migrate($0, logger: TestDatabase.logger) }
            #expect(again == .upToDate(version: SchemaMigrator.currentVersion))
        }
    }
}
