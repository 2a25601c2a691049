import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

/// The event worker over the real simulator and PostgreSQL: events are queued as the receiver
/// queues them (`HookStore.enqueueHookEvent`, for a hook recorded as active), then drained.
/// The receiver itself is tested through the binary (PodioMirrorCLITests/HookReceiverTests).
@Suite("Webhook events: applied at least once, by cost, never backwards")
struct HookEventTests {
    static let apps = [
        PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 120, fields: .simple),
        PodioSimulator.AppSpec(name: "Tasks", urlLabel: "tasks", itemCount: 30, fields: .simple),
    ]
    static let itemEndpoint = "GET /item/{item_id}"
    static let filterEndpoint = "POST /item/app/{app_id}/filter/"

    /// A hook of the mirror on `appID`, recorded active (as after a verification).
    static func activeHook(_ h: EngineHarness, appID: Int, hookID: Int, type: String = "item.update") async throws {
        try await h.db.run {
            try MirrorStore(db: $0).hooks.recordHook(
                hookID: hookID, appID: appID, type: type, url: "https://mirror.example.com", status: "active")
        }
    }

    static func enqueue(_ h: EngineHarness, _ events: [HookEvent]) async throws {
        for event in events { try await h.db.run { _ = try MirrorStore(db: $0).hooks.enqueueHookEvent(event) } }
    }

    static func liveIDs(_ h: EngineHarness, appID: Int) async throws -> [Int] {
        try await h.db.run {
            try $0.query(
                "SELECT item_id FROM podio.items WHERE app_id = $1 AND deleted_at IS NULL ORDER BY item_id", [appID]
            ).rows.compactMap { $0.int("item_id") }
        }
    }

    func calls(_ h: EngineHarness, _ endpoint: String) -> Int { h.simulator.stats().callsByEndpoint[endpoint] ?? 0 }

    @Test func changedItemsAreReadOnceEachAndDuplicatesOrReorderingChangeNothing() async throws {
        try await EngineHarness.with(apps: Self.apps) { h in
            try await h.sync()
            let app = h.simulator.appIDs()[0]
            try await Self.activeHook(h, appID: app, hookID: 9001)
            let ids = try await Self.liveIDs(h, appID: app)
            let (x, y) = (ids[3], ids[7])
            try h.simulator.editItem(itemID: x, title: "first edit")
            try h.simulator.editItem(itemID: x, title: "second edit")
            try h.simulator.editItem(itemID: y, title: "edited once")
            let z = try h.simulator.createItem(appID: app, title: "created")
            // Duplicated and out of order, as Podio may deliver them.
            try await Self.enqueue(
                h,
                [
                    HookEvent(hookID: 9001, type: "item.update", itemID: x, itemRevisionID: 2),
                    HookEvent(hookID: 9001, type: "item.create", itemID: z, itemRevisionID: 0),
                    HookEvent(hookID: 9001, type: "item.update", itemID: x, itemRevisionID: 1),
                    HookEvent(hookID: 9001, type: "item.update", itemID: y, itemRevisionID: 1),
                    HookEvent(hookID: 9001, type: "item.update", itemID: x, itemRevisionID: 2),
                ])
            h.simulator.resetStats()
            let summary = try await h.coordinator().drainHookEvents()
            #expect(summary.events == 5)
            #expect(summary.itemReads == 3 && summary.deltas == 0)
            #expect(summary.itemsWritten == 3)
            #expect(calls(h, Self.itemEndpoint) == 3)
            #expect(calls(h, Self.filterEndpoint) == 0)
            #expect(try await h.differences(apps: [app]) == [])
            #expect(try await h.count("SELECT count(*) FROM podio.hook_events WHERE applied_at IS NULL") == 0)
            // The item's history kept the revision the event replaced.
            #expect(try await h.count("SELECT count(*) FROM podio.item_versions WHERE item_id = $1", [x]) == 1)
            // The same events again (a duplicate delivery): one read each, nothing written.
            try await Self.enqueue(h, [HookEvent(hookID: 9001, type: "item.update", itemID: x, itemRevisionID: 1)])
            let again = try await h.coordinator().drainHookEvents()
            #expect(again.events == 1 && again.itemsWritten == 0)
            #expect(try await h.differences(apps: [app]) == [])
            // An empty queue costs no call.
            h.simulator.resetStats()
            let idle = try await h.coordinator().drainHookEvents()
            #expect(idle == HookDrainSummary())
            #expect(h.simulator.stats().callsByEndpoint.values.reduce(0, +) == 0)
        }
    }

    @Test func itemDeleteMarksDeletedOnlyWhatPodioConfirmsGone() async throws {
        try await EngineHarness.with(apps: Self.apps) { h in
            try await h.sync()
            let app = h.simulator.appIDs()[0]
            try await Self.activeHook(h, appID: app, hookID: 9002, type: "item.delete")
            let ids = try await Self.liveIDs(h, appID: app)
            let (gone, alive) = (ids[1], ids[2])
            try h.simulator.deleteItem(itemID: gone)
            try await Self.enqueue(
                h,
                [
                    HookEvent(hookID: 9002, type: "item.delete", itemID: gone),
                    // A forged or stale delete of an item Podio still has: it stays.
                    HookEvent(hookID: 9002, type: "item.delete", itemID: alive),
                ])
            let summary = try await h.coordinator().drainHookEvents()
            #expect(summary.itemsDeleted == 1 && summary.itemReads == 2)
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.items WHERE item_id = $1 AND deleted_at IS NOT NULL", [gone]) == 1)
            #expect(
                try await h.count("SELECT count(*) FROM podio.items WHERE item_id = $1 AND deleted_at IS NULL", [alive])
                    == 1)
            let table = try #require(try await h.scalar("SELECT table_name FROM podio.apps WHERE app_id = $1", [app]))
            #expect(try await h.count("SELECT count(*) FROM podio_apps.\"\(table)\" WHERE item_id = $1", [gone]) == 0)
            #expect(try await h.count("SELECT count(*) FROM podio_apps.\"\(table)\" WHERE item_id = $1", [alive]) == 1)
            #expect(try await h.differences(apps: [app]) == [])
        }
    }

    /// A late event of the app an item left (Podio may send `item.update` or `item.delete`
    /// there): Podio's answer says the item is in another app now, so it is not written back
    /// under the app of the hook, nor marked deleted.
    @Test func aLateEventOfTheAppAnItemLeftDoesNotPullItBack() async throws {
        try await EngineHarness.with(apps: Self.apps) { h in
            try await h.sync()
            let (from, to) = (h.simulator.appIDs()[0], h.simulator.appIDs()[1])
            let item = try await Self.liveIDs(h, appID: from)[3]
            try h.simulator.moveItem(itemID: item, toAppID: to, hook: false)
            try await h.sync(apps: [to])
            #expect(try await h.count("SELECT app_id FROM podio.items WHERE item_id = $1", [item]) == to)
            try await Self.activeHook(h, appID: from, hookID: 9006)
            try await Self.activeHook(h, appID: from, hookID: 9007, type: "item.delete")
            try await Self.enqueue(
                h,
                [
                    HookEvent(hookID: 9006, type: "item.update", itemID: item),
                    HookEvent(hookID: 9007, type: "item.delete", itemID: item),
                ])
            let summary = try await h.coordinator().drainHookEvents()
            #expect(summary.itemReads >= 1 && summary.itemsWritten == 0 && summary.itemsDeleted == 0)
            #expect(try await h.count("SELECT app_id FROM podio.items WHERE item_id = $1", [item]) == to)
            #expect(try await h.count("SELECT count(*) FROM podio.items WHERE deleted_at IS NOT NULL") == 0)
            for (app, rows) in [(from, 0), (to, 1)] {
                let table = try #require(
                    try await h.scalar("SELECT table_name FROM podio.apps WHERE app_id = $1", [app]))
                #expect(
                    try await h.count("SELECT count(*) FROM podio_apps.\"\(table)\" WHERE item_id = $1", [item])
                        == rows)
            }
            #expect(try await h.differences(apps: [to]) == [])
        }
    }

    @Test func anEventStormOnOneAppIsServedByOneDeltaListing() async throws {
        try await EngineHarness.with(apps: Self.apps) { h in
            try await h.sync()
            let app = h.simulator.appIDs()[0]
            try await Self.activeHook(h, appID: app, hookID: 9003)
            let ids = Array(try await Self.liveIDs(h, appID: app).prefix(80))
            try h.simulator.editItems(ids, title: "bulk edit")
            try await Self.enqueue(h, ids.map { HookEvent(hookID: 9003, type: "item.update", itemID: $0) })
            h.simulator.resetStats()
            let summary = try await h.coordinator().drainHookEvents()
            #expect(summary.events == 80)
            #expect(summary.deltas == 1)
            #expect(summary.itemReads == 0)
            #expect(calls(h, Self.itemEndpoint) == 0)
            #expect(calls(h, Self.filterEndpoint) == 1)
            #expect(summary.itemsWritten == 80)
            #expect(try await h.differences(apps: [app]) == [])
            // Below the threshold the same events are read one by one.
            let few = Array(ids.prefix(3))
            try h.simulator.editItems(few, title: "small edit")
            try await Self.enqueue(h, few.map { HookEvent(hookID: 9003, type: "item.update", itemID: $0) })
            h.simulator.resetStats()
            let small = try await h.coordinator().drainHookEvents()
            #expect(small.deltas == 0 && small.itemReads == 3)
            #expect(calls(h, Self.filterEndpoint) == 0)
            #expect(try await h.differences(apps: [app]) == [])
        }
    }

    @Test func anEventAcknowledgedButNotAppliedIsAppliedLater() async throws {
        try await EngineHarness.with(apps: Self.apps) { h in
            try await h.sync()
            let app = h.simulator.appIDs()[1]
            try await Self.activeHook(h, appID: app, hookID: 9004)
            let ids = try await Self.liveIDs(h, appID: app)
            try h.simulator.editItem(itemID: ids[0], title: "edited while the worker fails")
            try await Self.enqueue(h, [HookEvent(hookID: 9004, type: "item.update", itemID: ids[0])])
            // The worker fails between the acknowledgement and the write (Podio answers 500s):
            // the event stays queued, its attempt counted.
            h.simulator.injectFaults(.serverError, count: 100)
            let failed = try await h.coordinator(settings: Self.noRetry(h.settings)).drainHookEvents()
            #expect(failed.failed == 1 && failed.events == 0)
            #expect(
                try await h.count("SELECT count(*) FROM podio.hook_events WHERE applied_at IS NULL AND attempts = 1")
                    == 1)
            h.simulator.clearFaults()
            // The process ended there; the next `sync` drains the queue before its deltas.
            let run = try await h.sync()
            #expect(run.hookEvents?.events == 1)
            #expect(run.hookEvents?.itemReads == 1)
            #expect(try await h.count("SELECT count(*) FROM podio.hook_events WHERE applied_at IS NULL") == 0)
            #expect(try await h.differences(apps: [app]) == [])
        }
    }

    @Test func reconciliationCountsWhatHooksMissedAndSkipsHookedAppsUntilDue() async throws {
        try await EngineHarness.with(apps: Self.apps) { h in
            try await h.sync()
            let (hooked, plain) = (h.simulator.appIDs()[0], h.simulator.appIDs()[1])
            try await Self.activeHook(h, appID: hooked, hookID: 9005)
            let ids = try await Self.liveIDs(h, appID: hooked)
            // One edit delivered (and queued), one whose delivery was dropped.
            try h.simulator.editItem(itemID: ids[10], title: "delivered")
            try await Self.enqueue(h, [HookEvent(hookID: 9005, type: "item.update", itemID: ids[10])])
            try h.simulator.editItem(itemID: ids[11], title: "dropped")
            var settings = h.settings
            settings.hookGrace = 0
            let run = try await h.coordinator(settings: settings).run(SyncOptions(kind: .sync))
            #expect(run.apps.first { $0.appID == hooked }?.missedByHooks == 1)
            #expect(run.apps.first { $0.appID == plain }?.missedByHooks == 0)
            #expect(try await h.count("SELECT hooks_missed FROM podio.sync_state WHERE app_id = $1", [hooked]) == 1)
            let status = try await h.db.run { try MirrorStatus.load($0, policy: h.settings.quota, now: Date()) }
            #expect(status.apps.first { $0.appID == hooked }?.missedByHooks == 1)
            #expect(status.apps.first { $0.appID == hooked }?.hooksActive == 1)
            #expect(!status.hints.contains { $0.contains("not active in Podio") })
            try await Self.activeHook(h, appID: hooked, hookID: 9007, type: "item.delete")
            _ = try await h.db.run { try $0.query("UPDATE podio.hooks SET status = 'inactive' WHERE hook_id = 9007") }
            let inactive = try await h.db.run { try MirrorStatus.load($0, policy: h.settings.quota, now: Date()) }
            #expect(
                inactive.hints.contains { $0.hasPrefix("app \(hooked): 1 webhook is not active in Podio") },
                "\(inactive.hints)")
            #expect(try await h.differences() == [])
            // Under `run`, an app with active hooks gets its delta once per reconciliation interval.
            var options = SyncOptions(kind: .sync)
            options.reconcileInterval = 3600
            let scheduled = try await h.coordinator(settings: settings).run(options)
            #expect(scheduled.skipped.map(\.appID) == [hooked])
            #expect(scheduled.skipped.first?.reason == .hooked)
            #expect(scheduled.apps.map(\.appID) == [plain])
        }
    }

    /// Issue 25: `PODIO_RECONCILE_EVERY` is the longest gap, not the only one. When the schedule
    /// of the apps without hooks leaves calls, the hooked apps are reconciled early on them (a
    /// dropped delivery waits minutes, not an hour); when it does not, they wait for their
    /// interval as before. The early reconciliation counts what no hook delivered like any other.
    @Test func reconciliationSpendsTheCallsTheScheduleLeavesAndOnlyThose() async throws {
        try await EngineHarness.with(apps: Self.apps + [Self.apps[1]]) { h in
            let clock = TestClock(Date())
            let ids = h.simulator.appIDs()
            let (hooked, plain) = ([ids[0], ids[1]], ids[2])
            var settings = h.settings
            settings.hookGrace = 0
            try await h.coordinator(settings: settings, clock: clock).run(SyncOptions(kind: .sync))
            try await Self.activeHook(h, appID: hooked[0], hookID: 9010)
            try await Self.activeHook(h, appID: hooked[1], hookID: 9011)
            // A delivery dropped: only a reconciliation brings it.
            let edited = try #require(try await Self.liveIDs(h, appID: hooked[1]).first)
            try h.simulator.editItem(itemID: edited, title: "delivery dropped")
            var options = SyncOptions(kind: .sync)
            options.reconcileInterval = 3600
            options.every = 600
            // A quota of 4 calls an hour: the plain app's turns and one reconciliation of each
            // hooked app an hour take it all. Ten minutes later the hooked apps wait.
            settings.quota = QuotaPolicy(rateLimited: 4, general: 1000, window: 3600, reserve: 0)
            clock.advance(600)
            let tight = try await h.coordinator(settings: settings, clock: clock).run(options)
            #expect(Set(tight.skipped.filter { $0.reason == .hooked }.map(\.appID)) == Set(hooked), "\(tight.skipped)")
            #expect(!tight.apps.contains { hooked.contains($0.appID) })
            // 100 calls an hour: the plain app needs 6 (one a run), the rest is spare, and both
            // hooked apps are reconciled at once, stalest first.
            settings.quota = QuotaPolicy(rateLimited: 100, general: 1000, window: 3600, reserve: 0)
            clock.advance(600)
            let ample = try await h.coordinator(settings: settings, clock: clock).run(options)
            #expect(ample.skipped.filter { $0.reason == .hooked }.isEmpty, "\(ample.skipped)")
            #expect(Set(ample.apps.map(\.appID)).isSuperset(of: hooked))
            #expect(ample.apps.first { $0.appID == hooked[1] }?.missedByHooks == 1)
            #expect(ample.apps.count == 3)
            // status and /metrics: the reconciliation lag of each hooked app, none for the plain one.
            let (policy, now) = (settings.quota, Date())  // the passes were stamped by the database's clock
            let status = try await h.db.run { try MirrorStatus.load($0, policy: policy, now: now) }
            let lags = Dictionary(uniqueKeysWithValues: status.apps.map { ($0.appID, $0.reconciliationLagSeconds) })
            #expect(lags[hooked[0]].flatMap { $0 }.map { $0 < 60 } == true, "\(lags)")
            #expect(lags[plain].flatMap { $0 } == nil)
            #expect(try await h.differences() == [])
        }
    }

    @Test func appUpdateReadsTheDefinitionAndCommentEventsReadTheComments() async throws {
        try await EngineHarness.with(apps: Self.apps, comments: true) { h in
            try await h.sync()
            let app = h.simulator.appIDs()[1]
            try await Self.activeHook(h, appID: app, hookID: 9006, type: "app.update")
            let fieldID = try h.simulator.addField(appID: app, type: "text", label: "Pushed field")
            let itemID = try #require(try await Self.liveIDs(h, appID: app).first)
            let commentID = try h.simulator.comment(itemID: itemID, text: "a comment pushed by a hook")
            try await Self.enqueue(
                h,
                [
                    HookEvent(hookID: 9006, type: "app.update"),
                    HookEvent(hookID: 9006, type: "comment.create", itemID: itemID, commentID: commentID),
                ])
            h.simulator.resetStats()
            let summary = try await h.coordinator().drainHookEvents()
            #expect(summary.definitionsRefreshed == 1 && summary.commentReads == 1 && summary.itemReads == 1)
            #expect(calls(h, "GET /app/{app_id}") == 1)
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.app_fields WHERE field_id = $1 AND app_id = $2", [fieldID, app]) == 1)
            #expect(try await h.count("SELECT count(*) FROM podio.app_columns WHERE field_id = $1", [fieldID]) == 1)
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.comments WHERE comment_id = $1 AND value = 'a comment pushed by a hook'",
                    [commentID]) == 1)
            #expect(
                try await h.count("SELECT comment_count FROM podio.items WHERE item_id = $1", [itemID])
                    == h.simulator.comments(itemID: itemID).count)
        }
    }

    /// A version-4 mirror upgrades in place: the webhook tables and columns are added, nothing
    /// else moves, and a second migrate does nothing.
    @Test func aVersion4MirrorUpgradesToVersion5InPlace() async throws {
        try await EngineHarness.with(apps: Self.apps) { h in
            try await h.sync()
            let items = try await h.count("SELECT count(*) FROM podio.items")
            try await h.db.run { db in
                _ = try db.execute(
                    """
                    DROP TABLE podio.hooks, podio.hook_events, podio_auth.hook_secret;
                    ALTER TABLE podio.sync_state DROP COLUMN hooks_missed, DROP COLUMN hooks_missed_at;
                    UPDATE podio.schema_version SET version = 4
                    """)
            }
            let outcome = try await h.db.run { try SchemaMigrator.migrate($0, logger: EngineHarness.logger) }
            #expect(outcome == .applied(from: 4, to: SchemaMigrator.currentVersion))
            #expect(SchemaMigrator.currentVersion >= 5)
            try await h.db.run { try SchemaMigrator.requireCurrent($0) }
            #expect(try await h.count("SELECT count(*) FROM podio.items") == items)
            #expect(
                try await h.count("SELECT count(*) FROM podio.sync_state WHERE hooks_missed = 0")
                    == h.simulator.appIDs().count)
            #expect(try await h.count("SELECT count(*) FROM podio.hooks") == 0)
            let again = try await h.db.run { try SchemaMigrator.migrate($0, logger: EngineHarness.logger) }
            #expect(again == .upToDate(version: SchemaMigrator.currentVersion))
            #expect(try await h.differences() == [])
        }
    }

    static func noRetry(_ settings: MirrorSettings) -> MirrorSettings {
        var s = settings
        s.retry = RetryPolicy(maxAttempts: 1, baseDelay: 0.01, maxDelay: 0.01, maxElapsed: 1)
        return s
    }
}
