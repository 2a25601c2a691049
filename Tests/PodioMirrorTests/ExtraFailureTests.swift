import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

/// Comments, file downloads and deep history against the inconvenient readings of what Podio
/// leaves undocumented (reference §12, third review), and one object that keeps failing: the
/// others are still read, the failure is recorded and listed by `status`, and a later run tries
/// it again once its back-off has passed (on the injected clock).
@Suite("Extras isolate failures per object")
struct ExtraFailureTests {
    static let commentEndpoint = "GET /comment/item/{item_id}/"
    static let rawEndpoint = "GET /file/{file_id}/raw"
    static let listEndpoint = "GET /item/{item_id}/revision/"
    static let tasks = [PodioSimulator.AppSpec(name: "Tasks", urlLabel: "tasks", itemCount: 30, fields: .simple)]

    static func calls(_ h: EngineHarness, _ endpoint: String) -> Int {
        h.simulator.stats().callsByEndpoint[endpoint] ?? 0
    }

    /// A run on the given clock (and settings), after the earlier run's locks are gone.
    @discardableResult
    static func run(
        _ h: EngineHarness, clock: TestClock, _ kind: SyncOptions.Kind = .sync, settings: MirrorSettings? = nil
    ) async throws -> RunSummary {
        try await h.waitForEarlierRunsToLetGo()
        return try await h.coordinator(settings: settings ?? h.settings, clock: clock).run(SyncOptions(kind: kind))
    }

    /// The recorded failures, as `status` reads them.
    static func failures(_ h: EngineHarness) async throws -> [ExtraFailure] {
        try await h.db.run { try MirrorStatus.load($0, policy: h.settings.quota, now: Date()).extraFailures }
    }

    /// `date` is `expected` to the millisecond (PostgreSQL keeps microseconds).
    static func near(_ date: Date?, _ expected: Date) -> Bool {
        date.map { abs($0.timeIntervalSince(expected)) < 0.001 } ?? false
    }

    /// The mirror's live comment ids of an item, and how many of its comments are marked deleted.
    static func mirroredComments(_ h: EngineHarness, itemID: Int) async throws -> (live: [Int], deleted: Int) {
        let live = try await h.db.run { db in
            try db.query(
                "SELECT comment_id FROM podio.comments WHERE item_id = $1 AND deleted_at IS NULL ORDER BY comment_id",
                [itemID]
            ).rows.compactMap { $0.int("comment_id") }
        }
        let deleted = try await h.count(
            "SELECT count(*) FROM podio.comments WHERE item_id = $1 AND deleted_at IS NOT NULL", [itemID])
        return (live, deleted)
    }

    /// The item with the lowest id that has comments (read first), and one without.
    static func items(_ h: EngineHarness) async throws -> (commented: Int, bare: Int) {
        let commented = try await h.count("SELECT min(item_id) FROM podio.items WHERE comment_count > 0")
        let bare = try await h.count("SELECT min(item_id) FROM podio.items WHERE coalesce(comment_count, 0) = 0")
        return (commented, bare)
    }

    @Test func aServerThatIgnoresOffsetCostsTwoCallsAndLosesNoComment() async throws {
        try await EngineHarness.with(apps: Self.tasks, comments: true) { h in
            let clock = TestClock(Date())
            try await Self.run(h, clock: clock)
            let itemID = try await Self.items(h).bare
            for n in 0..<250 { try h.simulator.comment(itemID: itemID, text: "Reply \(n)") }
            let truth = h.simulator.comments(itemID: itemID).map(\.id).sorted()
            #expect(truth.count == 250)

            // Every call answers the first page: the second brings no new comment and ends the
            // read. The 100 comments read are kept; none is marked deleted; the item is recorded.
            h.simulator.setQuirks(PodioSimulator.Quirks(commentsIgnoreOffset: true))
            h.simulator.resetStats()
            let first = try await Self.run(h, clock: clock, .resync)
            #expect(Self.calls(h, Self.commentEndpoint) == 2)
            #expect(first.comments?.itemsFailed == 1)
            #expect(first.comments?.itemsRead == 0)
            let read = try await Self.mirroredComments(h, itemID: itemID)
            #expect(read.live == Array(truth.prefix(100)))
            #expect(read.deleted == 0)
            let failures = try await Self.failures(h)
            #expect(failures.map(\.kind) == [.comments])
            #expect(failures.first?.objectID == itemID)
            #expect(failures.first?.attempts == 1)
            #expect(failures.first?.lastError.contains("100 of the 250 comments") == true)
            #expect(Self.near(failures.first?.nextTryAt, clock.now().addingTimeInterval(600)))

            // Not due yet: no call.
            h.simulator.resetStats()
            try await Self.run(h, clock: clock)
            #expect(Self.calls(h, Self.commentEndpoint) == 0)

            // Once due, with a server that pages, every comment is read and the record goes.
            h.simulator.setQuirks(PodioSimulator.Quirks())
            clock.advance(601)
            h.simulator.resetStats()
            let later = try await Self.run(h, clock: clock)
            #expect(Self.calls(h, Self.commentEndpoint) == 3)
            #expect(later.comments?.itemsRead == 1)
            #expect(try await Self.mirroredComments(h, itemID: itemID).live == truth)
            #expect(try await Self.failures(h).isEmpty)
        }
    }

    @Test func pagesCappedBelowTheLimitAreReadOnToTheCommentCount() async throws {
        try await EngineHarness.with(apps: Self.tasks, comments: true) { h in
            let clock = TestClock(Date())
            let itemID = try await {
                try await Self.run(h, clock: clock)
                return try await Self.items(h).commented
            }()
            for n in 0..<95 { try h.simulator.comment(itemID: itemID, text: "Reply \(n)") }
            let removed = try #require(h.simulator.comments(itemID: itemID).first)
            try h.simulator.deleteComment(commentID: removed.id)
            let truth = h.simulator.comments(itemID: itemID).map(\.id).sorted()

            // 30 comments a page whatever the limit: short pages do not end the read.
            h.simulator.setQuirks(PodioSimulator.Quirks(commentPageCap: 30))
            h.simulator.resetStats()
            let run = try await Self.run(h, clock: clock, .resync)
            #expect(Self.calls(h, Self.commentEndpoint) == (truth.count + 29) / 30)
            #expect(run.comments?.itemsRead == 1)
            #expect(run.comments?.itemsFailed == 0)
            let mirrored = try await Self.mirroredComments(h, itemID: itemID)
            #expect(mirrored.live == truth)
            // The read saw them all: the deleted one is marked.
            #expect(mirrored.deleted == 1)
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.comments WHERE comment_id = $1 AND deleted_at IS NOT NULL", [removed.id]
                )
                    == 1)
        }
    }

    @Test func oneItemWhoseCommentsFailDoesNotStopTheOthers() async throws {
        try await EngineHarness.with(apps: Self.tasks, comments: true) { h in
            let clock = TestClock(Date())
            // The first item read fails on every call; the others are served.
            let ids = h.simulator.appIDs()
            #expect(ids.count == 1)
            let plain = try await Self.run(
                h, clock: clock,
                settings: {
                    var s = h.settings
                    s.comments = false
                    return s
                }())
            #expect(plain.status == .succeeded)
            let failing = try await Self.items(h).commented
            let withComments = try await h.count("SELECT count(*) FROM podio.items WHERE comment_count > 0")
            h.simulator.injectFaults(.serverError, rate: 1, path: "/comment/item/\(failing)/")

            let first = try await Self.run(h, clock: clock)
            #expect(first.comments?.itemsFailed == 1)
            #expect(first.comments?.itemsRead == withComments - 1)
            #expect(first.comments?.itemsPending == 1)
            #expect(try await Self.mirroredComments(h, itemID: failing).live.isEmpty)
            var failures = try await Self.failures(h)
            #expect(failures.count == 1)
            #expect(failures.first?.subject == "comments of item \(failing)")
            #expect(failures.first?.lastError.contains("answered 50") == true)
            #expect(Self.near(failures.first?.nextTryAt, clock.now().addingTimeInterval(600)))
            // `status` says so among its hints, not only in its list.
            let hints = try await h.db.run { try MirrorStatus.load($0, policy: h.settings.quota, now: Date()).hints }
            #expect(hints.contains { $0.hasPrefix("1 item's comments could not be read") }, "\(hints)")

            // Not due: no call. Due: tried again, fails again, waits twice as long.
            h.simulator.resetStats()
            try await Self.run(h, clock: clock)
            #expect(Self.calls(h, Self.commentEndpoint) == 0)
            clock.advance(601)
            let second = try await Self.run(h, clock: clock)
            #expect(second.comments?.itemsFailed == 1)
            failures = try await Self.failures(h)
            #expect(failures.first?.attempts == 2)
            #expect(Self.near(failures.first?.nextTryAt, clock.now().addingTimeInterval(1200)))

            // Podio serves it again: read, and the record goes.
            h.simulator.clearFaults()
            clock.advance(1201)
            let third = try await Self.run(h, clock: clock)
            #expect(third.comments?.itemsRead == 1)
            #expect(third.comments?.itemsPending == 0)
            #expect(
                try await Self.mirroredComments(h, itemID: failing).live
                    == h.simulator.comments(itemID: failing).map(\.id).sorted())
            #expect(try await Self.failures(h).isEmpty)
        }
    }

    @Test func downloadsGoOnPastAFailingFileAndRecordFilesHostedElsewhere() async throws {
        try await EngineHarness.with(apps: Self.tasks) { h in
            let clock = TestClock(Date())
            let directory = FileTests.downloadDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var settings = h.settings
            settings.filesDirectory = directory
            func onDisk(_ id: Int, _ name: String) -> Data? {
                FileManager.default.contents(
                    atPath: URL(fileURLWithPath: directory).appendingPathComponent("\(id)-\(name)").path)
            }
            try await Self.run(h, clock: clock)
            let items = try await h.db.run { db in
                try db.query("SELECT item_id FROM podio.items ORDER BY item_id LIMIT 3").rows.compactMap {
                    $0.int("item_id")
                }
            }
            // A file linked from Google Drive comes before a file of Podio's: it is recorded, and
            // never asked of Podio (which would redirect off Podio).
            let linked = try h.simulator.attachFile(itemID: items[0], name: "sheet.gdoc", size: 10, hostedBy: "google")
            let first = try h.simulator.attachFile(itemID: items[0], name: "a.pdf", size: 100)
            h.simulator.resetStats()
            let one = try await Self.run(h, clock: clock, .resync, settings: settings)
            #expect(one.files?.external == 1)
            #expect(one.files?.downloaded == 1)
            #expect(Self.calls(h, Self.rawEndpoint) == 1)
            #expect(onDisk(first, "a.pdf") == h.simulator.fileContent(fileID: first))
            #expect(onDisk(linked, "sheet.gdoc") == nil)

            // A file that fails on every call, before one that does not: the second is
            // downloaded all the same, the first recorded with its back-off.
            let failing = try h.simulator.attachFile(itemID: items[1], name: "broken.bin", size: 50)
            let after = try h.simulator.attachFile(itemID: items[2], name: "fine.txt", size: 7)
            h.simulator.injectFaults(.serverError, rate: 1, path: "/file/\(failing)/raw")
            let two = try await Self.run(h, clock: clock, .resync, settings: settings)
            #expect(two.files?.failed == 1)
            #expect(two.files?.downloaded == 1)
            #expect(two.files?.present == 1)
            #expect(onDisk(after, "fine.txt") == h.simulator.fileContent(fileID: after))
            #expect(onDisk(failing, "broken.bin") == nil)
            let failures = try await Self.failures(h)
            #expect(failures.map(\.objectID) == [linked, failing])
            #expect(failures.first?.nextTryAt == nil)
            #expect(failures.first?.attempts == 0)
            #expect(failures.first?.lastError.contains("hosted by google") == true)
            #expect(failures.last?.attempts == 1)
            #expect(Self.near(failures.last?.nextTryAt, clock.now().addingTimeInterval(600)))

            // Not due: no download call. Due and served again: downloaded, its record gone; the
            // linked file stays recorded and unfetched.
            h.simulator.resetStats()
            try await Self.run(h, clock: clock, settings: settings)
            #expect(Self.calls(h, Self.rawEndpoint) == 0)
            h.simulator.clearFaults()
            clock.advance(601)
            let three = try await Self.run(h, clock: clock, settings: settings)
            #expect(three.files?.downloaded == 1)
            #expect(Self.calls(h, Self.rawEndpoint) == 1)
            #expect(onDisk(failing, "broken.bin") == h.simulator.fileContent(fileID: failing))
            #expect(try await Self.failures(h).map(\.objectID) == [linked])
        }
    }

    @Test func aRedirectedDownloadIsNotFollowedButRecorded() async throws {
        try await EngineHarness.with(apps: Self.tasks) { h in
            let clock = TestClock(Date())
            let directory = FileTests.downloadDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var settings = h.settings
            settings.filesDirectory = directory
            try await Self.run(h, clock: clock)
            let itemID = try await h.count("SELECT min(item_id) FROM podio.items")
            let redirected = try h.simulator.attachFile(itemID: itemID, name: "r.pdf", size: 20)
            let next = try h.simulator.attachFile(itemID: itemID, name: "s.pdf", size: 20)
            h.simulator.setQuirks(PodioSimulator.Quirks(fileRawRedirect: true))
            h.simulator.resetStats()
            let run = try await Self.run(h, clock: clock, .resync, settings: settings)
            // Both answer 302 (no retry: a redirect is not an outage); neither is followed.
            #expect(Self.calls(h, Self.rawEndpoint) == 2)
            #expect(run.files?.failed == 2)
            #expect(run.files?.downloaded == 0)
            let failures = try await Self.failures(h)
            #expect(failures.map(\.objectID) == [redirected, next])
            #expect(failures.allSatisfy { $0.lastError.contains("302") && $0.lastError.contains("files.podio.com") })
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
    }

    @Test func oneItemWhoseRevisionsFailDoesNotStopDeepHistory() async throws {
        let apps = [PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 40, fields: .simple)]
        try await EngineHarness.with(apps: apps) { h in
            let clock = TestClock(Date())
            var settings = h.settings
            settings.deepHistory = .all
            var plain = h.settings
            plain.deepHistory = .off
            try await Self.run(h, clock: clock, settings: plain)
            let edited = try await h.count("SELECT count(*) FROM podio.items WHERE revision > 0")
            #expect(edited > 3)
            let failing = try await h.count("SELECT min(item_id) FROM podio.items WHERE revision > 0")
            h.simulator.injectFaults(.serverError, rate: 1, path: "/item/\(failing)/revision/")

            let first = try await Self.run(h, clock: clock, settings: settings)
            #expect(first.deepHistory?.itemsFailed == 1)
            #expect(first.deepHistory?.itemsPending == 1)
            #expect(try await h.count("SELECT count(DISTINCT item_id) FROM podio.item_revision_reads") == 39)
            let failures = try await Self.failures(h)
            #expect(failures.map(\.subject) == ["deep history of item \(failing)"])
            #expect(Self.near(failures.first?.nextTryAt, clock.now().addingTimeInterval(600)))

            h.simulator.resetStats()
            try await Self.run(h, clock: clock, settings: settings)
            #expect(Self.calls(h, Self.listEndpoint) == 0)

            h.simulator.clearFaults()
            clock.advance(601)
            let later = try await Self.run(h, clock: clock, settings: settings)
            #expect(later.deepHistory?.itemsFailed == 0)
            #expect(later.deepHistory?.itemsPending == 0)
            #expect(Self.calls(h, Self.listEndpoint) == 1)
            #expect(try await Self.failures(h).isEmpty)
            #expect(try await h.count("SELECT count(*) FROM podio.item_revision_reads") == 40)
        }
    }

    /// A version-5 mirror gains `podio.extra_failures` in place, and the extras use it at once.
    @Test func aVersion5MirrorGainsTheFailureTable() async throws {
        try await EngineHarness.with(apps: Self.tasks, comments: true) { h in
            let clock = TestClock(Date())
            try await Self.run(h, clock: clock)
            try await h.db.run { db in
                _ = try db.execute(
                    "DROP TABLE podio.extra_failures; UPDATE podio.schema_version SET version = 5")
            }
            let outcome = try await h.db.run { try SchemaMigrator.migrate($0, logger: EngineHarness.logger) }
            #expect(outcome == .applied(from: 5, to: SchemaMigrator.currentVersion))
            try await h.db.run { try SchemaMigrator.requireCurrent($0) }
            let itemID = try await Self.items(h).commented
            try h.simulator.comment(itemID: itemID, text: "After the upgrade")
            h.simulator.injectFaults(.serverError, rate: 1, path: "/comment/item/\(itemID)/")
            let run = try await Self.run(h, clock: clock, .resync)
            #expect(run.comments?.itemsFailed == 1)
            #expect(try await Self.failures(h).map(\.objectID) == [itemID])
        }
    }

    /// The hook worker's `comment.create` pages the same way: two calls against a server that
    /// ignores `offset`, the comments read kept, none marked deleted, the item left pending.
    @Test func aCommentEventPagesTheSameWay() async throws {
        try await EngineHarness.with(apps: Self.tasks, comments: true) { h in
            try await h.sync()
            let appID = h.simulator.appIDs()[0]
            try await HookEventTests.activeHook(h, appID: appID, hookID: 9101, type: "comment.create")
            let itemID = try await Self.items(h).bare
            var last = 0
            for n in 0..<150 { last = try h.simulator.comment(itemID: itemID, text: "Reply \(n)") }
            h.simulator.setQuirks(PodioSimulator.Quirks(commentsIgnoreOffset: true))
            try await HookEventTests.enqueue(
                h, [HookEvent(hookID: 9101, type: "comment.create", itemID: itemID, commentID: last)])
            h.simulator.resetStats()
            let summary = try await h.coordinator().drainHookEvents()
            #expect(summary.commentReads == 1)
            #expect(Self.calls(h, Self.commentEndpoint) == 2)
            let read = try await Self.mirroredComments(h, itemID: itemID)
            #expect(read.live == Array(h.simulator.comments(itemID: itemID).map(\.id).sorted().prefix(100)))
            #expect(read.deleted == 0)
            #expect(try await h.count("SELECT count(*) FROM podio.comment_reads WHERE item_id = $1", [itemID]) == 0)
        }
    }
}
