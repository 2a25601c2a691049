import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

@Suite("Deep history: Podio's revisions and their diffs, on what the quota leaves")
struct DeepHistoryTests {
    static let listEndpoint = "GET /item/{item_id}/revision/"
    static let diffEndpoint = "GET /item/{item_id}/revision/{revision_from}/{revision_to}"
    static let apps = [
        PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 40, fields: .simple),
        PodioSimulator.AppSpec(name: "Tasks", urlLabel: "tasks", itemCount: 20, fields: .simple),
    ]

    static func revisionCalls(_ h: EngineHarness) -> (list: Int, diff: Int) {
        let stats = h.simulator.stats()
        return (stats.callsByEndpoint[listEndpoint] ?? 0, stats.callsByEndpoint[diffEndpoint] ?? 0)
    }

    static func run(_ h: EngineHarness, _ deep: DeepHistorySetting = .all, quota: QuotaPolicy? = nil) async throws
        -> RunSummary
    {
        var settings = h.settings
        settings.deepHistory = deep
        if let quota { settings.quota = quota }
        return try await h.coordinator(settings: settings).run(SyncOptions(kind: .sync))
    }

    static func parse(_ text: String) -> NSArray {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? NSArray ?? NSArray()
    }

    /// The mirror's deep history of every live item against the simulator's revisions: the
    /// revisions, their times, and per revision the fields that changed with their values
    /// before and after, computed here from the values the simulator keeps per revision.
    static func differences(_ h: EngineHarness, apps: [Int]? = nil) async throws -> [String] {
        let items = try await h.db.run { db in
            try db.query(
                "SELECT item_id FROM podio.items WHERE deleted_at IS NULL AND ($1::bigint[] IS NULL OR app_id = ANY ($1::bigint[])) ORDER BY item_id",
                [apps]
            ).rows.compactMap { $0.int("item_id") }
        }
        var out: [String] = []
        for itemID in items {
            let truth = h.simulator.revisionTruth(itemID: itemID)
            let rows = try await h.db.run { db in
                try db.query(
                    """
                    SELECT revision, extract(epoch FROM created_on)::bigint AS at, diff_read_at IS NOT NULL AS read
                    FROM podio.item_revisions WHERE item_id = $1 ORDER BY revision
                    """, [itemID]
                ).rows.map { ($0.int("revision") ?? -1, $0.int("at") ?? -1, $0.bool("read") ?? false) }
            }
            let want = truth.map { ($0.revision, $0.createdOn) }
            if rows.map({ "\($0.0)@\($0.1)" }) != want.map({ "\($0.0)@\($0.1)" }) {
                out.append(
                    "item \(itemID): revisions \(rows.map { "\($0.0)@\($0.1)" }), truth \(want.map { "\($0.0)@\($0.1)" })"
                )
                continue
            }
            if let unread = rows.first(where: { $0.0 > 0 && !$0.2 }) {
                out.append("item \(itemID): diff of revision \(unread.0) not read")
            }
            let changes = try await h.db.run { db in
                try db.query(
                    "SELECT revision, external_id, from_values::text AS f, to_values::text AS t FROM podio.item_field_changes WHERE item_id = $1",
                    [itemID]
                ).rows.map {
                    (
                        "\($0.int("revision") ?? -1)/\($0.string("external_id") ?? "")", $0.string("f") ?? "",
                        $0.string("t") ?? ""
                    )
                }
            }
            var mirrored: [String: (NSArray, NSArray)] = [:]
            for (key, from, to) in changes { mirrored[key] = (parse(from), parse(to)) }
            var expected: [String: (NSArray, NSArray)] = [:]
            for index in truth.indices.dropFirst() {
                let before = truth[index - 1].values
                let after = truth[index].values
                for key in Set(before.keys).union(after.keys) {
                    let from = parse(before[key] ?? "[]")
                    let to = parse(after[key] ?? "[]")
                    if from != to { expected["\(truth[index].revision)/\(key)"] = (from, to) }
                }
            }
            if Set(mirrored.keys) != Set(expected.keys) {
                out.append("item \(itemID): changed fields \(mirrored.keys.sorted()), truth \(expected.keys.sorted())")
                continue
            }
            for (key, pair) in expected where mirrored[key]?.0 != pair.0 || mirrored[key]?.1 != pair.1 {
                out.append("item \(itemID) \(key): values differ from the truth")
            }
        }
        return out
    }

    /// The deep history still to read, from the simulator's revisions of every live item against
    /// the revisions the mirror holds (not from the engine's own query of what is pending): an
    /// item is pending while the mirror lacks one of its revisions or the diff of one; it costs
    /// one call per diff not read, and one more for the list when a revision is missing, except
    /// for an item never edited (its one revision comes with the item, without a call).
    static func pendingFromTruth(_ h: EngineHarness) async throws -> (items: Int, calls: Int) {
        let held = try await h.db.run { db in
            try db.query(
                """
                SELECT i.item_id, v.revision, v.diff_read_at IS NOT NULL AS read
                FROM podio.items AS i LEFT JOIN podio.item_revisions AS v ON v.item_id = i.item_id
                WHERE i.deleted_at IS NULL
                """
            ).rows.map { ($0.int("item_id") ?? -1, $0.int("revision"), $0.bool("read") ?? false) }
        }
        var read: [Int: [Int: Bool]] = [:]
        for (item, revision, diffRead) in held {
            read[item, default: [:]][revision ?? -1] = diffRead
        }
        var pending = (items: 0, calls: 0)
        for (itemID, mirrored) in read {
            let revisions = h.simulator.revisionTruth(itemID: itemID).map(\.revision)
            let listed = revisions.allSatisfy { mirrored[$0] != nil }
            let unreadDiffs = revisions.filter { $0 > 0 && mirrored[$0] != true }.count
            guard !listed || unreadDiffs > 0 else { continue }
            pending.items += 1
            pending.calls += listed ? unreadDiffs : (revisions.last ?? 0) == 0 ? 0 : 1 + unreadDiffs
        }
        return pending
    }

    @Test func mirroredAndKeptInStepWithNoCallsForUnchangedItems() async throws {
        try await EngineHarness.with(apps: Self.apps) { h in
            let first = try await Self.run(h)
            #expect(first.status == .succeeded)
            let items = try await h.count("SELECT count(*) FROM podio.items WHERE deleted_at IS NULL")
            let edited = try await h.count("SELECT count(*) FROM podio.items WHERE deleted_at IS NULL AND revision > 0")
            let revisions = try await h.count("SELECT sum(revision) FROM podio.items WHERE deleted_at IS NULL")
            #expect(revisions > 10 && edited < items)
            // The plan came first and was exact: a list per edited item, a diff per change; an
            // item never edited has one revision, its initial_revision, written without a call.
            let plan = try #require(first.deepHistory?.plan)
            #expect(plan.items == edited)
            #expect(plan.calls == edited + revisions)
            #expect(plan.windowsAfterThis == 0)
            #expect(plan.line.contains("\(edited) items to read, ~\(edited + revisions) general calls"))
            let calls = Self.revisionCalls(h)
            #expect(calls.list == edited && calls.diff == revisions)
            #expect(first.deepHistory?.itemsRead == items)
            #expect(first.deepHistory?.itemsPending == 0)
            #expect(try await Self.differences(h) == [])
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.item_revisions WHERE raw->>'item_revision_id' IS NULL OR created_by_id IS NULL OR type IS NULL"
                ) == 0)
            let status = try await h.db.run {
                try MirrorStatus.load($0, policy: h.settings.quota, now: Date(), deepHistory: .all)
            }
            #expect(status.apps.compactMap(\.deepHistoryPending) == [0, 0])

            // Unchanged items cost no call; the run plans nothing.
            h.simulator.resetStats()
            let idle = try await Self.run(h)
            #expect(Self.revisionCalls(h) == (0, 0))
            #expect(idle.deepHistory?.plan?.items == 0)

            // An edit and a cleared field: the new revision and its diff, two calls each.
            let ids = try await h.db.run { db in
                try db.query("SELECT item_id FROM podio.items ORDER BY item_id LIMIT 2").rows.compactMap {
                    $0.int("item_id")
                }
            }
            try h.simulator.editItem(itemID: ids[0], title: "Renamed ✓")
            let status0 = try #require(
                try await h.scalar(
                    "SELECT field_id::text FROM podio.app_fields WHERE external_id = 'stage' AND app_id = (SELECT app_id FROM podio.items WHERE item_id = $1)",
                    [ids[1]]
                ).flatMap { Int($0) })
            try h.simulator.clearField(itemID: ids[1], fieldID: status0)
            h.simulator.resetStats()
            let after = try await Self.run(h)
            #expect(after.deepHistory?.plan?.calls == 4)
            #expect(Self.revisionCalls(h) == (2, 2))
            #expect(try await Self.differences(h) == [])
            #expect(
                try await h.scalar(
                    "SELECT to_values->0->>'value' FROM podio.item_field_changes WHERE item_id = $1 AND external_id = 'title' ORDER BY revision DESC LIMIT 1",
                    [ids[0]]) == "Renamed ✓")
            #expect(
                try await h.scalar(
                    "SELECT to_values::text FROM podio.item_field_changes WHERE item_id = $1 AND external_id = 'stage' ORDER BY revision DESC LIMIT 1",
                    [ids[1]]) == "[]")

            // A deleted item keeps its history and costs nothing more.
            let kept = try await h.count("SELECT count(*) FROM podio.item_revisions WHERE item_id = $1", [ids[0]])
            try h.simulator.deleteItem(itemID: ids[0])
            _ = try await h.coordinator(
                settings: {
                    var s = h.settings; s.deepHistory = .all; return s
                }()
            ).run(SyncOptions(kind: .resync))
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.items WHERE item_id = $1 AND deleted_at IS NOT NULL", [ids[0]]) == 1)
            #expect(try await h.count("SELECT count(*) FROM podio.item_revisions WHERE item_id = $1", [ids[0]]) == kept)
            #expect(Self.revisionCalls(h) == (2, 2))
        }
    }

    @Test func aFieldAsItWasOnAGivenDay() async throws {
        try await EngineHarness.with(apps: [Self.apps[0]]) { h in
            _ = try await Self.run(h)
            // A seeded item with three or more revisions days apart.
            var found: (itemID: Int, truth: [(revision: Int, createdOn: Int, values: [String: String])])?
            for itemID in try await h.db.run({ db in
                try db.query("SELECT item_id FROM podio.items WHERE revision >= 2 ORDER BY item_id").rows.compactMap {
                    $0.int("item_id")
                }
            }) {
                let truth = h.simulator.revisionTruth(itemID: itemID)
                if truth[2].createdOn - truth[1].createdOn > 2 * 86_400
                    && truth[1].values["amount"] != truth[2].values["amount"]
                {
                    found = (itemID, truth)
                    break
                }
            }
            let (itemID, truth) = try #require(found)
            // The query of docs/tables.md, with the day and the item as parameters: the newest change of
            // the field made by then, else the value before its first later change, else now.
            let sql = """
                SELECT coalesce(
                    (SELECT to_values FROM podio.item_field_changes
                     WHERE item_id = $1 AND external_id = 'amount' AND changed_on < $2 ORDER BY revision DESC LIMIT 1),
                    (SELECT from_values FROM podio.item_field_changes
                     WHERE item_id = $1 AND external_id = 'amount' AND changed_on >= $2 ORDER BY revision LIMIT 1),
                    (SELECT f->'values' FROM podio.items AS i CROSS JOIN LATERAL jsonb_array_elements(i.raw->'fields') AS f
                     WHERE i.item_id = $1 AND f->>'external_id' = 'amount'),
                    '[]')::text AS amount_then
                """
            for revision in [0, 1, 2] {
                let day = Date(timeIntervalSince1970: Double(truth[revision].createdOn + 1))
                let got = try #require(try await h.scalar(sql, [itemID, day]))
                #expect(Self.parse(got) == Self.parse(truth[revision].values["amount"] ?? "[]"), "revision \(revision)")
            }
        }
    }

    @Test func theSettingReadsOffAllOrAppIDs() throws {
        #expect(try MirrorSettings.fromEnvironment([:]).deepHistory == .off)
        #expect(try MirrorSettings.fromEnvironment(["PODIO_DEEP_HISTORY": "off"]).deepHistory == .off)
        #expect(try MirrorSettings.fromEnvironment(["PODIO_DEEP_HISTORY": "all"]).deepHistory == .all)
        let some = try MirrorSettings.fromEnvironment(["PODIO_DEEP_HISTORY": "12, 34"]).deepHistory
        #expect(some == .apps([12, 34]))
        #expect(some.covers(34) && !some.covers(56))
        #expect(throws: MirrorError.self) { try MirrorSettings.fromEnvironment(["PODIO_DEEP_HISTORY": "12,x"]) }
    }

    @Test func offByDefaultCostsNothing() async throws {
        try await EngineHarness.with(apps: Self.apps) { h in
            #expect(h.settings.deepHistory == .off)
            let summary = try await h.sync()
            #expect(summary.deepHistory == nil)
            #expect(Self.revisionCalls(h) == (0, 0))
            #expect(try await h.count("SELECT count(*) FROM podio.item_revisions") == 0)
            // Covering one app: its items only.
            let tasks = try await h.count("SELECT app_id FROM podio.apps WHERE url_label = 'tasks'")
            let one = try await Self.run(h, .apps([tasks]))
            let edited = try await h.count(
                "SELECT count(*) FROM podio.items WHERE app_id = $1 AND revision > 0", [tasks])
            #expect(one.deepHistory?.itemsRead == 20)
            #expect(one.deepHistory?.plan?.items == edited)
            #expect(Self.revisionCalls(h).list == edited)
            #expect(
                try await h.count(
                    "SELECT count(DISTINCT item_id) FROM podio.item_revisions WHERE app_id <> $1", [tasks]) == 0)
            h.simulator.resetStats()
            // Covering another app only: nothing for these.
            let other = try await Self.run(h, .apps([999]))
            #expect(other.deepHistory == nil || other.deepHistory?.plan == nil)
            #expect(Self.revisionCalls(h) == (0, 0))
        }
    }

    @Test func oneRunAtATimeReadsIt() async throws {
        try await EngineHarness.with(apps: [Self.apps[1]]) { h in
            // Another session holds the lock: this run syncs its items and leaves deep history.
            let other = try await h.database.connect()
            #expect(try await other.run { try $0.tryAdvisoryLock(LockKeys.deepHistory) })
            let held = try await Self.run(h)
            #expect(held.status == .succeeded)
            #expect(held.itemsWritten == 20)
            #expect(held.deepHistory?.plan == nil)
            #expect(Self.revisionCalls(h) == (0, 0))
            other.close()
            let free = try await Self.run(h)
            #expect(free.deepHistory?.itemsRead == 20)
            #expect(
                Self.revisionCalls(h).list == (try await h.count("SELECT count(*) FROM podio.items WHERE revision > 0"))
            )
        }
    }

    @Test func aTightGeneralQuotaNeverDelaysItemSyncsAndTheRestWaits() async throws {
        // A general quota of 20: GET /org/ and GET /app/{id} twice, deep history leaves 3 free
        // for the next run's item syncs (1 + one per app) and stops there.
        let tight = QuotaPolicy(rateLimited: 1000, general: 20, window: 3600, reserve: 0)
        try await EngineHarness.with(apps: Self.apps) { h in
            let first = try await Self.run(h, quota: tight)
            #expect(first.status == .succeeded)
            #expect(first.secondsWaitedForQuota == 0)
            #expect(try await h.differences() == [])
            let history = try #require(first.deepHistory)
            let plan = try #require(history.plan)
            #expect(plan.freeNow == 20 - 3 - 3)
            #expect(plan.windowsAfterThis >= 1)
            #expect(history.calls == plan.freeNow)
            #expect(history.itemsPending > 0)
            #expect(history.callsPending == plan.calls - history.calls)
            // What the run and status say is pending is what the simulator's revisions leave.
            let pending = try await Self.pendingFromTruth(h)
            #expect(history.itemsPending == pending.items && history.callsPending == pending.calls)
            let status = try await h.db.run { try MirrorStatus.load($0, policy: tight, now: Date(), deepHistory: .all) }
            #expect(status.apps.compactMap(\.deepHistoryPending).reduce(0, +) == pending.items)
            #expect(status.apps.compactMap(\.deepHistoryCallsPending).reduce(0, +) == pending.calls)

            // The next run's item sync finds its calls, and deep history still waits.
            let itemID = try await h.count("SELECT max(item_id) FROM podio.items")
            try h.simulator.editItem(itemID: itemID, title: "Edited under a tight quota")
            let second = try await Self.run(h, quota: tight)
            #expect(second.status == .succeeded)
            #expect(second.secondsWaitedForQuota == 0)
            #expect(try await h.differences() == [])
            #expect(second.deepHistory?.itemsPending ?? 0 > 0)
            let stillPending = try await Self.pendingFromTruth(h)
            #expect(second.deepHistory?.itemsPending == stillPending.items)
            #expect(second.deepHistory?.callsPending == stillPending.calls)

            // With quota again the rest is read, resuming where it stopped: over all runs, one
            // list per item and one diff per change, none read twice.
            let roomy = QuotaPolicy(rateLimited: 1000, general: 1000, window: 3600, reserve: 0)
            let third = try await Self.run(h, quota: roomy)
            #expect(third.deepHistory?.itemsPending == 0)
            #expect(try await Self.pendingFromTruth(h) == (0, 0))
            #expect(try await Self.differences(h) == [])
            // The edited item counts once among the lists (it was at revision 0, settled without
            // a call, or listed before its edit and once more after it).
            let edited = try await h.count("SELECT count(*) FROM podio.items WHERE deleted_at IS NULL AND revision > 0")
            let revisions = try await h.count("SELECT sum(revision) FROM podio.items WHERE deleted_at IS NULL")
            let calls = Self.revisionCalls(h)
            #expect(calls.diff == revisions)
            #expect(calls.list >= edited && calls.list <= edited + 1)
        }
    }

    @Test func syncPrintsTheCostAndETAFirst() async throws {
        try await EngineHarness.with(apps: [Self.apps[1]], slots: TestSlots.scenario) { h in
            var env = h.environment
            env["PODIO_DEEP_HISTORY"] = "all"
            env["PODIO_RATE_LIMIT_GENERAL"] = "12"
            let outcome = try await ProcessRunner.run(
                ProcessRunner.binary("podio-mirror"), ["sync", "--summary"], environment: env, timeout: 120)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let lines = outcome.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 2, "\(outcome.stdout)")
            let plan = try #require(lines.first)
            #expect(plan.hasPrefix("deep history: ") && plan.contains(" items to read, ~"))
            #expect(plan.contains("free now") && plan.contains("a window (1h): about"))
            #expect(lines.last?.contains("deep history of") == true)
            #expect(lines.last?.contains("waiting for the next runs") == true)

            let status = try await ProcessRunner.run(
                ProcessRunner.binary("podio-mirror"), ["status"], environment: env, timeout: 60)
            #expect(status.stdout.contains("deep history of"), "\(status.stdout)")
            #expect(status.stdout.contains("items pending (~"))
        }
    }
}
