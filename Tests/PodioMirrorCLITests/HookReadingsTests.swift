import Foundation
import LibPQ
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

/// Webhooks through the real binary under the inconvenient readings of what Podio leaves
/// undocumented (reference §12, third review), each a simulator quirk: deliveries as multipart
/// or JSON, events without `hook_id`, hook URLs Podio stores normalised; and `file.change`.
@Suite("Webhooks under Podio's undocumented readings (the real binary)")
struct HookReadingsTests {
    static let apps = [PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 20, fields: .simple)]

    static func options() -> CLIHarness.Options {
        var options = CLIHarness.Options()
        options.apps = apps
        options.allowLoopbackHooks = true
        return options
    }

    enum Reading: String, CaseIterable, Sendable {
        case multipart, json, withoutHookID
    }

    /// Installed with the worker running; every hook verified.
    static func install(_ h: CLIHarness, _ url: String) async throws -> RunOutcome {
        try await h.run(["hooks", "install", "--url", url, "--wait", "20s"])
    }

    @Test(arguments: Reading.allCases)
    func deliveriesInAnotherEncodingOrWithoutHookIDReachTheMirror(_ reading: Reading) async throws {
        try await CLIHarness.with(Self.options()) { h in
            let first = try await h.sync()
            try #require(first.status == 0, "\(first.printed)")
            switch reading {
            case .multipart: h.simulator.setQuirks(PodioSimulator.Quirks(hookBodyFormat: .multipart))
            case .json: h.simulator.setQuirks(PodioSimulator.Quirks(hookBodyFormat: .json))
            case .withoutHookID: h.simulator.setQuirks(PodioSimulator.Quirks(hookEventsWithoutHookID: true))
            }
            let (worker, url) = try await HookEndToEndTests.startWorker(h)
            // hook.verify comes in the same encoding: the verification completes.
            let install = try await Self.install(h, url)
            #expect(install.status == 0, "\(install.printed)")
            #expect(HookEndToEndTests.liveHooks(h).allSatisfy { $0.status == "active" })

            let app = h.simulator.appIDs()[0]
            let ids = try await h.itemIDs(app: app)
            try h.simulator.editItem(itemID: ids[0], title: "edited under \(reading.rawValue)")
            try h.simulator.deleteItem(itemID: ids[1])
            let live = try await h.waitUntil(timeout: 30, every: 50) {
                let title = try await HookEndToEndTests.title(h, ids[0])
                let gone = try await h.count(
                    "SELECT count(*) FROM podio.items WHERE item_id = $1 AND deleted_at IS NOT NULL", [ids[1]])
                return title == "edited under \(reading.rawValue)" && gone == 1
            }
            #expect(live, "the events were not applied")
            if reading == .withoutHookID {
                // Queued without a hook, its app the one the mirror knows for the item.
                #expect(
                    try await h.count(
                        "SELECT count(*) FROM podio.hook_events WHERE hook_id = 0 AND item_id = $1 AND app_id = $2",
                        [ids[0], app]) >= 1)
            }
            worker.terminate()
            let stopped = await h.finish(worker)
            #expect(stopped.status == 0, "\(stopped.printed)")
            // The first event of each type shows its field names once, never a value.
            let format = reading == .json ? "json" : reading == .multipart ? "multipart" : "form"
            let shapes = stopped.stderr.split(separator: "\n").filter {
                $0.contains("webhook event shape (logged once): item.update as \(format)")
            }
            #expect(shapes.count == 1, "\(stopped.stderr)")
            let shape = String(shapes.first ?? "")
            #expect(shape.contains("item_id") && shape.contains("item_revision_id"), "\(shape)")
            #expect(shape.contains("hook_id") == (reading != .withoutHookID), "\(shape)")
            #expect(!shape.contains(String(ids[0])), "\(shape)")
            #expect(try await h.differences() == [])
        }
    }

    @Test func hookURLsPodioStoresNormalisedAreVerifiedMatchedAndNeverDuplicated() async throws {
        try await CLIHarness.with(Self.options()) { h in
            let first = try await h.sync()
            try #require(first.status == 0, "\(first.printed)")
            h.simulator.setQuirks(PodioSimulator.Quirks(hookURLNormalized: true))
            let (worker, url) = try await HookEndToEndTests.startWorker(h)
            let install = try await Self.install(h, url)
            #expect(install.status == 0, "\(install.printed)")
            let hooks = HookEndToEndTests.liveHooks(h)
            #expect(hooks.allSatisfy { $0.url.hasSuffix("/") && $0.status == "active" }, "\(hooks.map(\.url))")
            // Checked again (an install, or the worker's reconciliation): the same hooks, kept.
            for _ in 0..<2 {
                let again = try await Self.install(h, url)
                #expect(again.status == 0, "\(again.printed)")
                #expect(
                    again.stdout.split(separator: "\n").filter { $0.contains(" kept ") }.count == hooks.count,
                    "\(again.printed)")
            }
            #expect(HookEndToEndTests.liveHooks(h).map(\.hookID).sorted() == hooks.map(\.hookID).sorted())
            // Its deliveries (to the URL with the slash) arrive.
            let app = h.simulator.appIDs()[0]
            let itemID = try #require(try await h.itemIDs(app: app).first)
            try h.simulator.editItem(itemID: itemID, title: "delivered to the normalised URL")
            let live = try await h.waitUntil(timeout: 30, every: 50) {
                try await HookEndToEndTests.title(h, itemID) == "delivered to the normalised URL"
            }
            #expect(live, "the event was not applied")
            worker.terminate()
            let stopped = await h.finish(worker)
            #expect(stopped.status == 0, "\(stopped.printed)")
        }
    }

    @Test func aFileAddedToAnUneditedItemArrivesByItsFileChangeHookAndIsDownloaded() async throws {
        try await CLIHarness.with(Self.options()) { h in
            let first = try await h.sync()
            try #require(first.status == 0, "\(first.printed)")
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "hook-files-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let (worker, url) = try await HookEndToEndTests.startWorker(h, env: ["PODIO_FILES": directory.path])
            let install = try await Self.install(h, url)
            #expect(install.status == 0, "\(install.printed)")
            #expect(HookEndToEndTests.liveHooks(h).contains { $0.type == "file.change" && $0.status == "active" })
            let app = h.simulator.appIDs()[0]
            let itemID = try #require(try await h.itemIDs(app: app).first)
            // No revision, no item.update: only file.change tells.
            let fileID = try h.simulator.attachFile(itemID: itemID, name: "contract.pdf")
            let arrived = try await h.waitUntil(timeout: 30, every: 50) {
                try await h.count(
                    "SELECT count(*) FROM podio.files WHERE file_id = $1 AND item_id = $2 AND deleted_at IS NULL",
                    [fileID, itemID]) == 1
            }
            #expect(arrived, "the file was not mirrored")
            let path = directory.appendingPathComponent("\(fileID)-contract.pdf").path
            let downloaded = try await h.waitUntil(timeout: 30, every: 50) {
                FileManager.default.fileExists(atPath: path)
            }
            #expect(downloaded, "the file was not downloaded")
            #expect(FileManager.default.contents(atPath: path) == h.simulator.fileContent(fileID: fileID))
            worker.terminate()
            let stopped = await h.finish(worker)
            #expect(stopped.status == 0, "\(stopped.printed)")
        }
    }
}
