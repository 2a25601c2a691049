import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

/// The page size the engine asks of `GET /comment/item/{id}/` (CommentReader.commentPageSize).
enum RunContextPageSize { static let value = 100 }

@Suite("Comments: read only when they moved, never before the items")
struct CommentTests {
    static let endpoint = "GET /comment/item/{item_id}/"
    static let apps = [
        PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 60, fields: .simple),
        PodioSimulator.AppSpec(name: "Tasks", urlLabel: "tasks", itemCount: 30, fields: .simple),
    ]

    /// The mirror's live comments of an item, oldest first, against the simulator's.
    static func differences(_ h: EngineHarness) async throws -> [String] {
        let items = try await h.db.run { db in
            try db.query("SELECT item_id FROM podio.items WHERE deleted_at IS NULL ORDER BY item_id").rows.compactMap {
                $0.int("item_id")
            }
        }
        var out: [String] = []
        for itemID in items {
            let truth = h.simulator.comments(itemID: itemID).map { "\($0.id):\($0.text)" }
            let mirrored = try await h.db.run { db in
                try db.query(
                    "SELECT comment_id, value FROM podio.comments WHERE item_id = $1 AND deleted_at IS NULL ORDER BY comment_id",
                    [itemID]
                ).rows.map { "\($0.int("comment_id") ?? 0):\($0.string("value") ?? "")" }
            }
            if truth.sorted() != mirrored { out.append("item \(itemID): truth \(truth), mirror \(mirrored)") }
        }
        return out
    }

    func commentCalls(_ h: EngineHarness) -> Int { h.simulator.stats().callsByEndpoint[Self.endpoint] ?? 0 }

    @Test func mirroredAndKeptInStepWithNoCallsWhenIdle() async throws {
        try await EngineHarness.with(apps: Self.apps, comments: true) { h in
            let first = try await h.sync()
            #expect(first.status == .succeeded)
            let withComments = try await h.count("SELECT count(*) FROM podio.items WHERE comment_count > 0")
            #expect(withComments > 5)
            // One call per item with comments, none for the others.
            #expect(commentCalls(h) == withComments)
            #expect(first.comments?.itemsRead == withComments)
            #expect(first.comments?.itemsPending == 0)
            #expect(try await Self.differences(h) == [])
            // The comment's shape: author, time, text and the raw JSON.
            #expect(
                try await h.count(
                    """
                    SELECT count(*) FROM podio.comments
                    WHERE created_by_id IS NULL OR created_on IS NULL OR value IS NULL OR raw->>'comment_id' IS NULL
                       OR app_id IS NULL OR edited_on IS NOT NULL
                    """) == 0)

            // Idle: a delta and a resync read no comment.
            h.simulator.resetStats()
            let idle = try await h.sync()
            try await h.sync(.resync)
            #expect(commentCalls(h) == 0)
            #expect(idle.comments == CommentRunSummary())

            // An addition, an edit and a deletion: no new revision, only the activity moves.
            let items = try await h.db.run { db in
                try db.query(
                    """
                    SELECT (SELECT min(item_id) FROM podio.items WHERE comment_count = 0) AS bare,
                           (SELECT min(item_id) FROM podio.items WHERE comment_count >= 2) AS two,
                           (SELECT max(item_id) FROM podio.items WHERE comment_count = 1) AS one
                    """
                ).first
            }
            let bare = try #require(items?.int("bare"))
            let two = try #require(items?.int("two"))
            let one = try #require(items?.int("one"))
            let revisions = try await h.scalar("SELECT sum(revision)::text FROM podio.items")
            let added = try h.simulator.comment(itemID: bare, text: "Fresh <b>news</b> ✓")
            let edited = try #require(h.simulator.comments(itemID: two).first)
            try h.simulator.editComment(commentID: edited.id, text: "Corrected")
            let removed = try #require(h.simulator.comments(itemID: one).first)
            try h.simulator.deleteComment(commentID: removed.id)

            // Comments move last_event_on, not last_edit_on: the items come back with the next
            // read of them (here a resync). Two calls: the item that lost its only comment
            // (comment_count 0) needs none.
            h.simulator.resetStats()
            let after = try await h.sync(.resync)
            #expect(try await h.scalar("SELECT sum(revision)::text FROM podio.items") == revisions)
            #expect(commentCalls(h) == 2)
            #expect(after.comments?.itemsRead == 2)
            #expect(try await Self.differences(h) == [])
            #expect(
                try await h.scalar("SELECT value FROM podio.comments WHERE comment_id = $1", [added])
                    == "Fresh <b>news</b> ✓")
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.comments WHERE comment_id = $1 AND edited_on IS NOT NULL", [edited.id])
                    == 1)
            // Deleted comments are marked, not dropped; the item that lost its only comment
            // was settled without a call.
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.comments WHERE comment_id = $1 AND deleted_at IS NOT NULL", [removed.id]
                ) == 1)
            #expect(try await h.count("SELECT count(*) FROM podio.comments WHERE deleted_at IS NOT NULL") == 1)

            // Idle again.
            h.simulator.resetStats()
            try await h.sync()
            #expect(commentCalls(h) == 0)
        }
    }

    @Test func itemSyncsAreNeverDelayedByCommentsUnderATightGeneralQuota() async throws {
        // General quota of 10: GET /org/ and GET /app/{id} twice; comments leave 3 free for the
        // next run's item syncs (1 + one per app), so 4 are read.
        let quota = QuotaPolicy(rateLimited: 1000, general: 10, window: 3600, reserve: 0)
        try await EngineHarness.with(apps: Self.apps, quota: quota, comments: true) { h in
            let first = try await h.sync()
            #expect(first.status == .succeeded)
            #expect(first.secondsWaitedForQuota == 0)
            #expect(try await h.differences() == [])
            let withComments = try await h.count("SELECT count(*) FROM podio.items WHERE comment_count > 0")
            #expect(commentCalls(h) == 4)
            #expect(first.comments?.itemsRead == 4)
            #expect(first.comments?.itemsPending == withComments - 4)
            let status = try await h.db.run { try MirrorStatus.load($0, policy: quota, now: Date()) }
            #expect(status.apps.map(\.commentsPending).reduce(0, +) == withComments - 4)

            // The next run finds the general calls it needs: its item sync is not held back,
            // and the comments still wait.
            try h.simulator.editItem(itemID: try await h.count("SELECT min(item_id) FROM podio.items"), title: "Edited")
            let second = try await h.sync()
            #expect(second.status == .succeeded)
            #expect(second.secondsWaitedForQuota == 0)
            #expect(try await h.differences() == [])
            #expect(second.comments?.itemsPending ?? 0 > 0)

            // With quota again, the rest is read.
            var roomy = h.settings
            roomy.quota = QuotaPolicy(rateLimited: 1000, general: 1000, window: 3600, reserve: 0)
            let third = try await h.coordinator(settings: roomy).run(SyncOptions(kind: .sync))
            #expect(third.comments?.itemsPending == 0)
            #expect(try await Self.differences(h) == [])
        }
    }

    @Test func aLongDiscussionIsReadInPages() async throws {
        try await EngineHarness.with(apps: [Self.apps[1]], comments: true) { h in
            try await h.sync()
            let itemID = try await h.count("SELECT min(item_id) FROM podio.items")
            let before = h.simulator.comments(itemID: itemID).count
            for n in 0..<(2 * RunContextPageSize.value + 1 - before) {
                try h.simulator.comment(itemID: itemID, text: "Reply \(n)")
            }
            h.simulator.resetStats()
            let run = try await h.sync(.resync)
            // 201 comments at 100 a page: three calls for the one item.
            #expect(commentCalls(h) == 3)
            #expect(run.comments?.itemsRead == 1)
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.comments WHERE item_id = $1 AND deleted_at IS NULL", [itemID]) == 201)
            #expect(try await Self.differences(h) == [])
        }
    }

    @Test func commentsOffReadsNone() async throws {
        try await EngineHarness.with(apps: Self.apps) { h in
            let summary = try await h.sync()
            #expect(summary.comments == nil)
            #expect(commentCalls(h) == 0)
            #expect(try await h.count("SELECT count(*) FROM podio.comments") == 0)
        }
    }
}
