import Foundation
import LibPQ
import PodioSimulator
import TestSupport
import Testing

/// Where a `sync` is SIGKILLed. The simulator answers every API call 300 ms late, so that the
/// points between calls can be hit by polling the database; points inside a page's
/// transaction are reached by holding a lock the page's next statement needs.
enum KillPoint: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// Full load: the first page is being fetched, nothing is written yet.
    case fullBeforeFirstPage
    /// Full load: page 1 is committed, page 2 is being fetched.
    case fullBetweenPages
    /// Full load: page 2's items are upserted, its values wait for a lock (uncommitted).
    case fullMidPage
    /// Full load: page 2 waits at its checkpoint, the last statement before COMMIT.
    case fullAtCheckpoint
    /// Full load: at once after page 2's commit became visible.
    case fullJustAfterCommit
    /// Resync of a mirror whose app lost items in Podio: the end of the pass, marking them
    /// deleted, waits for a row lock.
    case resyncMarkingDeletions
    /// Delta: its first filter call is in flight.
    case deltaFirstCall
    /// Delta of 1,200 edited items: page 1 is committed, page 2 is in flight.
    case deltaBetweenPages
    /// Delta: page 1's items are upserted, its values wait for a lock (uncommitted).
    case deltaMidPage
    /// Delta after deletions in Podio: the page is committed, the id sweep's call is in flight.
    case deltaDuringIDSweep

    var testDescription: String { rawValue }

    var isDelta: Bool { [.deltaFirstCall, .deltaBetweenPages, .deltaMidPage, .deltaDuringIDSweep].contains(self) }

    /// The points of the normal suite; the rest run with the long tests.
    static let quick: [KillPoint] = [
        .fullBetweenPages, .fullMidPage, .fullAtCheckpoint, .deltaBetweenPages, .deltaDuringIDSweep,
    ]
    static let slow: [KillPoint] = allCases.filter { !quick.contains($0) }
}

/// Shared steps of the kill scenarios.
enum KillScenario {
    static let delay = 300

    static func run(_ point: KillPoint) async throws {
        var options = CLIHarness.Options()
        // Every field type where a delta's values are cut in half (long tests); a lighter app elsewhere.
        let fields: PodioSimulator.FieldSet = point == .deltaMidPage ? .everyType : .simple
        options.apps = [
            PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 1_200, fields: fields)
        ]
        try await CLIHarness.with(options, function: "kill at \(point)") { h in
            let appID = h.simulator.appIDs()[0]
            let ids = try await h.itemIDs(app: appID)
            var deletedBefore: [Int] = []
            if point.isDelta || point == .resyncMarkingDeletions {
                try await h.sync()
                switch point {
                case .deltaBetweenPages:
                    for id in ids { try h.simulator.editItem(itemID: id) }
                case .deltaDuringIDSweep, .resyncMarkingDeletions:
                    for id in ids.prefix(3) { try h.simulator.editItem(itemID: id) }
                    deletedBefore = [ids[10], ids[600], ids[1_199]]
                    for id in deletedBefore { try h.simulator.deleteItem(itemID: id) }
                default:
                    for id in ids.prefix(20) { try h.simulator.editItem(itemID: id) }
                    try h.simulator.createItem(appID: appID)
                }
            }
            h.simulator.injectFaults(.delay(milliseconds: delay), rate: 1)

            let locker = try await h.database.connect()
            defer { locker.close() }
            var locked = false
            let kind = point == .resyncMarkingDeletions ? "resync" : "sync"
            let process = try h.start([kind, "--log-level", "debug"])
            let reached = try await h.waitUntil(timeout: 60, every: 2) {
                guard process.isRunning else { return true }
                switch point {
                case .fullBeforeFirstPage:
                    let begun =
                        try await h.count("SELECT count(*) FROM podio.sync_state WHERE full_pass_offset = 0") == 1
                    guard begun else { return false }
                    return try await filterCallInFlight(h)
                case .fullBetweenPages:
                    return try await fullOffset(h, appID) >= 500
                case .fullJustAfterCommit:
                    return try await fullOffset(h, appID) >= 1000
                case .fullMidPage, .fullAtCheckpoint, .deltaMidPage, .resyncMarkingDeletions:
                    if !locked {
                        let ready: Bool
                        switch point {
                        case .fullMidPage, .fullAtCheckpoint: ready = try await fullOffset(h, appID) >= 500
                        case .resyncMarkingDeletions: ready = true
                        default:
                            ready =
                                try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'running'") == 1
                        }
                        guard ready else { return false }
                        let statement =
                            switch point {
                            case .fullAtCheckpoint: "LOCK TABLE podio.sync_state IN EXCLUSIVE MODE"
                            case .resyncMarkingDeletions:
                                "SELECT 1 FROM podio.items WHERE item_id = \(deletedBefore[1]) FOR UPDATE"
                            default: "LOCK TABLE podio.items IN EXCLUSIVE MODE"
                            }
                        try await locker.run { db in
                            try db.execute("BEGIN")
                            try db.execute(statement)
                        }
                        locked = true
                    }
                    return try await h.count(
                        """
                        SELECT count(*) FROM pg_stat_activity
                        WHERE datname = current_database() AND application_name = 'podio-mirror sync' AND wait_event_type = 'Lock'
                        """) == 1
                case .deltaFirstCall:
                    return try await filterCallInFlight(h)
                case .deltaBetweenPages:
                    // A page of the run is committed (the edits share a second or two, so the
                    // mark may not move before that second is read whole).
                    let written = try await h.count(
                        "SELECT count(*) FROM podio.items WHERE app_id = $1 AND run_id = (SELECT max(run_id) FROM podio.sync_runs)",
                        [appID])
                    guard written >= 500 else { return false }
                    return try await filterCallInFlight(h)
                case .deltaDuringIDSweep:
                    let calls = try await h.count(
                        """
                        SELECT count(*) FROM podio.api_calls
                        WHERE run_id = (SELECT max(run_id) FROM podio.sync_runs) AND endpoint LIKE '%/filter/'
                        """)
                    guard calls >= 2 else { return false }
                    return try await filterCallInFlight(h)
                }
            }
            process.kill()
            let killed = await h.finish(process)
            if locked { _ = try? await locker.run { try $0.execute("ROLLBACK") } }
            try #require(reached, "the kill point was not reached in time")
            try #require(killed.signaled, "the sync ended before the kill point: \(killed.printed)")
            try await h.waitForBinarySessionsToEnd()
            h.simulator.clearFaults()

            // Nothing the kill left behind claims more than the mirror holds.
            let violations = try await h.cursorViolations()
            #expect(violations == [], "after a kill at \(point)")
            if point == .fullMidPage || point == .fullAtCheckpoint {
                // The page in flight was rolled back whole: whole pages only, as the checkpoint says.
                let items = try await h.count("SELECT count(*) FROM podio.items WHERE app_id = $1", [appID])
                let offset = try await fullOffset(h, appID)
                #expect(
                    items == offset && items % 500 == 0 && items >= 500 && items < 1_200,
                    "items \(items), offset \(offset)")
            }
            if point == .resyncMarkingDeletions {
                #expect(try await h.count("SELECT count(*) FROM podio.items WHERE deleted_at IS NOT NULL") == 0)
            }
            let killedRun = try #require(try await h.scalar("SELECT max(run_id) FROM podio.sync_runs"))
            #expect(
                try await h.scalar("SELECT status FROM podio.sync_runs WHERE run_id = $1", [killedRun]) == "running")

            // One more sync: the mirror equals the truth, and the killed run is recorded as failed.
            let next = try await h.sync()
            #expect(!next.stderr.contains("error"), "\(next.printed)")
            let differences = try await h.differences()
            #expect(differences == [], "after a kill at \(point)")
            #expect(try await h.scalar("SELECT status FROM podio.sync_runs WHERE run_id = $1", [killedRun]) == "failed")
            #expect(
                try await h.scalar("SELECT error FROM podio.sync_runs WHERE run_id = $1", [killedRun])?.contains(
                    "interrupted")
                    == true)
            for id in deletedBefore {
                #expect(
                    try await h.count(
                        "SELECT count(*) FROM podio.items WHERE item_id = $1 AND deleted_at IS NOT NULL", [id]) == 1)
            }
            #expect(try await h.count("SELECT count(*) FROM podio.full_pass_seen") == 0)
            #expect(try await h.count("SELECT count(*) FROM podio.sync_state WHERE full_pass_run_id IS NOT NULL") == 0)

            // The state it left is a sound base for the next delta: changes after it arrive too.
            let live = ids.filter { !deletedBefore.contains($0) }
            for id in live.suffix(4) { try h.simulator.editItem(itemID: id) }
            for id in live.prefix(2) { try h.simulator.deleteItem(itemID: id) }
            try h.simulator.createItem(appID: appID)
            try await h.sync()
            let afterDelta = try await h.differences()
            #expect(afterDelta == [], "after a delta following the kill at \(point)")
            try await h.expectNoSecretsLeaked()
        }
    }

    static func fullOffset(_ h: CLIHarness, _ appID: Int) async throws -> Int {
        try await h.count("SELECT coalesce(full_pass_offset, -1) FROM podio.sync_state WHERE app_id = $1", [appID])
    }

    /// A filter call of the latest run was granted and has no answer yet.
    static func filterCallInFlight(_ h: CLIHarness) async throws -> Bool {
        try await h.count(
            """
            SELECT count(*) FROM podio.api_calls
            WHERE run_id = (SELECT max(run_id) FROM podio.sync_runs) AND endpoint LIKE '%/filter/' AND status IS NULL
            """) > 0
    }
}

@Suite("SIGKILL during sync")
struct KillTests {
    @Test(.tags(.slow), arguments: KillPoint.quick)
    func killedSyncLeavesAConsistentMirror(_ point: KillPoint) async throws {
        try await KillScenario.run(point)
    }
}

@Suite("SIGKILL during sync, more points and a kill storm", .enabled(if: longTestsEnabled))
struct KillLongTests {
    @Test(arguments: KillPoint.slow)
    func killedSyncLeavesAConsistentMirror(_ point: KillPoint) async throws {
        try await KillScenario.run(point)
    }

    /// A full load of 8,000 items (16 pages) killed again and again at points spread over the
    /// pages and inside them, edits and deletions in Podio between kills; every stop leaves a
    /// sound checkpoint and the last run finishes equal to the truth.
    @Test(.tags(.slow)) func killStormDuringALargeFullLoad() async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Big", urlLabel: "big", itemCount: 8_000, fields: .simple)]
        try await CLIHarness.with(options) { h in
            let appID = h.simulator.appIDs()[0]
            let ids = try await h.itemIDs(app: appID)
            h.simulator.injectFaults(.delay(milliseconds: 150), rate: 1)
            var kills = 0
            var finished = false
            var round = 0
            while !finished && round < 30 {
                round += 1
                let process = try h.start(["sync"])
                let offset = try await KillScenario.fullOffset(h, appID)
                // Alternate: kill right after the next commit, or a little into the fetch after it.
                let extra = [0, 20, 60, 110][round % 4]
                _ = try await h.waitUntil(timeout: 60, every: 2) {
                    guard process.isRunning else { return true }
                    return try await KillScenario.fullOffset(h, appID) > offset
                }
                try await Task.sleep(for: .milliseconds(extra))
                if process.isRunning { process.kill() }
                let outcome = await h.finish(process)
                // A run may end on its own between the check and the signal, or die of it after
                // it recorded its success: only a kill of a run in progress counts.
                if outcome.signaled {
                    let status = try await h.scalar("SELECT status FROM podio.sync_runs ORDER BY run_id DESC LIMIT 1")
                    if status == "running" {
                        kills += 1
                    } else {
                        #expect(status == "succeeded")
                        finished = true
                    }
                } else {
                    #expect(outcome.status == 0, "\(outcome.printed)")
                    finished = outcome.status == 0
                }
                try await h.waitForBinarySessionsToEnd()
                let violations = try await h.cursorViolations()
                #expect(violations == [], "after kill \(kills)")
                if round == 4 {
                    // Changes in Podio while the load is interrupted: behind and ahead of the checkpoint.
                    for id in [ids[3], ids[7_900]] { try h.simulator.deleteItem(itemID: id) }
                    for id in [ids[4], ids[7_000]] { try h.simulator.editItem(itemID: id) }
                }
            }
            #expect(finished)
            #expect(kills >= 8)
            h.simulator.clearFaults()
            let runs = try await h.rows("SELECT run_id, status, error FROM podio.sync_runs ORDER BY run_id")
            #expect(
                runs.filter { $0.string("status") == "failed" }.count == kills,
                "\(kills) kills; runs: \(runs.map { "\($0.string("run_id") ?? "?") \($0.string("status") ?? "?") \($0.string("error") ?? "")" })"
            )
            try await h.sync()
            let differences = try await h.differences()
            #expect(differences == [])
            try await h.expectNoSecretsLeaked()
        }
    }
}
