import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

@Suite("File metadata: from the items' files, at no extra call")
struct FileTests {
    static let app = [PodioSimulator.AppSpec(name: "Contracts", urlLabel: "contracts", itemCount: 30, fields: .simple)]

    /// The mirror's attached files (id, item, name, mimetype, size), sorted.
    static func mirrored(_ h: EngineHarness) async throws -> [String] {
        try await h.db.run { db in
            try db.query(
                "SELECT file_id, item_id, name, mimetype, size FROM podio.files WHERE deleted_at IS NULL ORDER BY file_id"
            ).rows.map {
                "\($0.int("file_id") ?? 0) \($0.int("item_id") ?? 0) \($0.string("name") ?? "") \($0.string("mimetype") ?? "") \($0.int("size") ?? -1)"
            }
        }
    }

    @Test func filesAreMirroredAndKeptInStep() async throws {
        try await EngineHarness.with(apps: Self.app) { h in
            let ids = h.simulator.appIDs()
            let items = try JSONSerialization.jsonObject(with: h.simulator.truth()) as? [String: Any]
            let itemIDs = ((items?["apps"] as? [[String: Any]])?.first?["items"] as? [[String: Any]] ?? []).compactMap {
                $0["item_id"] as? Int
            }.sorted()
            #expect(ids.count == 1 && itemIDs.count == 30)
            let (a, b, c) = (itemIDs[0], itemIDs[1], itemIDs[2])
            let a1 = try h.simulator.attachFile(
                itemID: a, name: "contract.pdf", mimetype: "application/pdf", size: 65026)
            let a2 = try h.simulator.attachFile(itemID: a, name: "scan é.jpg", mimetype: "image/jpeg", size: 12)
            let b1 = try h.simulator.attachFile(itemID: b, name: "notes.txt", mimetype: "text/plain", size: 0)

            let first = try await h.sync()
            #expect(first.status == .succeeded)
            #expect(try await h.differences() == [])
            // The files come with the pages: the calls are those of a full load without files.
            #expect(h.simulator.stats().callsByEndpoint["POST /item/app/{app_id}/filter/"] == 1)
            #expect(h.simulator.stats().callsByTier["general"] == 2)  // GET /org/, GET /app/{id}
            #expect(
                try await Self.mirrored(h) == [
                    "\(a1) \(a) contract.pdf application/pdf 65026", "\(a2) \(a) scan é.jpg image/jpeg 12",
                    "\(b1) \(b) notes.txt text/plain 0",
                ])
            #expect(
                try await h.count(
                    """
                    SELECT count(*) FROM podio.files
                    WHERE created_on IS NOT NULL AND created_by_id IS NOT NULL AND link LIKE 'https://files.podio.com/%'
                      AND raw->>'file_id' IS NOT NULL AND app_id = $1
                    """, [ids[0]]) == 3)
            #expect(try await h.count("SELECT file_count FROM podio.items WHERE item_id = $1", [a]) == 2)

            // Idle: nothing is rewritten.
            let syncedAt = try await h.scalar("SELECT max(synced_at)::text FROM podio.files")
            try await h.sync()
            try await h.sync(.resync)
            #expect(try await h.scalar("SELECT max(synced_at)::text FROM podio.files") == syncedAt)

            // A file removed, one added: no revision, only the activity. The next read of the
            // items (here a resync) brings them.
            try h.simulator.removeFile(fileID: a2)
            let c1 = try h.simulator.attachFile(itemID: c, name: "new.docx", mimetype: "application/msword", size: 777)
            try await h.sync(.resync)
            #expect(try await h.differences() == [])
            #expect(
                try await Self.mirrored(h) == [
                    "\(a1) \(a) contract.pdf application/pdf 65026", "\(b1) \(b) notes.txt text/plain 0",
                    "\(c1) \(c) new.docx application/msword 777",
                ])
            // Marked, not dropped.
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.files WHERE file_id = $1 AND deleted_at IS NOT NULL", [a2]) == 1)
            #expect(try await h.count("SELECT count(*) FROM podio.item_versions") == 0)

            // An edit of an item with files keeps them.
            try h.simulator.editItem(itemID: a, title: "Renamed")
            try await h.sync()
            #expect(
                try await h.count("SELECT count(*) FROM podio.files WHERE item_id = $1 AND deleted_at IS NULL", [a])
                    == 1)

            // The query of docs/tables.md: the files of an app.
            let rows = try await h.count(
                """
                SELECT count(*) FROM (
                    SELECT i.title AS item, f.name, f.mimetype, pg_size_pretty(f.size) AS size, f.created_on, f.link
                    FROM podio.files AS f JOIN podio.items AS i ON i.item_id = f.item_id
                    WHERE f.app_id = $1 AND f.deleted_at IS NULL
                    ORDER BY f.created_on DESC
                ) AS q
                """, [ids[0]])
            #expect(rows == 3)
        }
    }

    /// A fresh directory for downloads (the caller removes it).
    static func downloadDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("pm-files-\(UUID().uuidString)").path
    }

    /// The item ids of the simulator's first app, from its truth, ascending.
    static func itemIDs(_ h: EngineHarness) throws -> [Int] {
        let truth = try JSONSerialization.jsonObject(with: h.simulator.truth()) as? [String: Any]
        return ((truth?["apps"] as? [[String: Any]])?.first?["items"] as? [[String: Any]] ?? []).compactMap {
            $0["item_id"] as? Int
        }.sorted()
    }

    /// A download's answer names no tier, so the ledger books it on both (docs/quota.md): the
    /// downloads must leave the rate-limited tier what the next run's item syncs need, as they
    /// leave the general one. (Before, they spent every free rate-limited call, and the next
    /// runs' deltas found none.)
    @Test func downloadsLeaveTheRateLimitedCallsTheNextSyncsNeed() async throws {
        try await EngineHarness.with(apps: Self.app) { h in
            let directory = Self.downloadDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let itemIDs = try Self.itemIDs(h)
            for (n, item) in itemIDs.prefix(4).enumerated() {
                _ = try h.simulator.attachFile(itemID: item, name: "f\(n).bin", size: 100)
            }
            #expect(try await h.sync().status == .succeeded)
            // Rate-limited calls counted so far (a call booked on both tiers counts in each),
            // the next delta's one filter call, the 2 kept for the next run (its discovery and
            // its app), and one more: one download fits.
            let countRateLimited =
                "SELECT count(*) FROM podio.api_calls WHERE tier = 'rate_limited' OR both_tiers"
            let used = try await h.count(countRateLimited)
            var tight = h.settings
            tight.filesDirectory = directory
            tight.quota = QuotaPolicy(rateLimited: used + 1 + 2 + 1, general: 1000, window: 3600, reserve: 0)
            let run = try await h.coordinator(settings: tight).run(SyncOptions(kind: .sync))
            #expect(run.status == .succeeded)
            #expect(run.files?.downloaded == 1)
            #expect(run.files?.pending == 3)
            #expect(try await h.count(countRateLimited) == used + 1 + 1)
        }
    }

    @Test func downloadsAreOptInResumableAndSkipFilesPresent() async throws {
        try await EngineHarness.with(apps: Self.app) { h in
            let directory = Self.downloadDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let itemIDs = try Self.itemIDs(h)
            let f1 = try h.simulator.attachFile(itemID: itemIDs[0], name: "a/b.pdf", size: 5000)
            let f2 = try h.simulator.attachFile(itemID: itemIDs[1], name: "notes.txt", mimetype: "text/plain", size: 3)
            let f3 = try h.simulator.attachFile(itemID: itemIDs[2], name: "big.bin", size: 70_000)
            let downloads = "GET /file/{file_id}/raw"

            // Off by default: no download call.
            let plain = try await h.sync()
            #expect(plain.files == nil)
            #expect(h.simulator.stats().callsByEndpoint[downloads] == nil)

            // A tight general quota: the first run downloads what the headroom allows.
            var tight = h.settings
            tight.filesDirectory = directory
            // Calls so far, the run's own (none, or GET /app/{id}: the app list is cached), the 2
            // kept for the next run's item syncs, and two more: one or two downloads fit.
            let used = try await h.count("SELECT count(*) FROM podio.api_calls WHERE tier = 'general'")
            tight.quota = QuotaPolicy(rateLimited: 1000, general: used + 2 + 2, window: 3600, reserve: 0)
            h.simulator.resetStats()
            let first = try await h.coordinator(settings: tight).run(SyncOptions(kind: .sync))
            #expect(first.status == .succeeded)
            #expect(first.secondsWaitedForQuota == 0)
            let early = first.files?.downloaded ?? 0
            #expect((1...2).contains(early))
            #expect(first.files?.pending == 3 - early)

            // The next run, with room, downloads the rest; then nothing.
            var roomy = tight
            roomy.quota = QuotaPolicy(rateLimited: 1000, general: 1000, window: 3600, reserve: 0)
            let second = try await h.coordinator(settings: roomy).run(SyncOptions(kind: .sync))
            #expect(second.files?.downloaded == 3 - early)
            #expect(second.files?.present == early)
            for (id, name) in [(f1, "a_b.pdf"), (f2, "notes.txt"), (f3, "big.bin")] {
                let path = URL(fileURLWithPath: directory).appendingPathComponent("\(id)-\(name)")
                #expect(FileManager.default.contents(atPath: path.path) == h.simulator.fileContent(fileID: id))
            }
            h.simulator.resetStats()
            let third = try await h.coordinator(settings: roomy).run(SyncOptions(kind: .sync))
            #expect(
                third.files
                    == {
                        var s = FileRunSummary(); s.present = 3; return s
                    }())
            #expect(h.simulator.stats().callsByEndpoint[downloads] == nil)
            // A file of the wrong size (a cut download) is fetched again.
            let cut = URL(fileURLWithPath: directory).appendingPathComponent("\(f3)-big.bin")
            try Data([1, 2, 3]).write(to: cut)
            let fourth = try await h.coordinator(settings: roomy).run(SyncOptions(kind: .sync))
            #expect(fourth.files?.downloaded == 1)
            #expect(FileManager.default.contents(atPath: cut.path) == h.simulator.fileContent(fileID: f3))
        }
    }
}
