import Foundation
import LibPQ
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

/// Webhooks end to end through the real binary and the simulator's hooks: `hooks install`
/// (verification racing the create answer), live events applied by `run --listen`, `hooks list`,
/// an idempotent reinstall, an inactive hook verified again, reconciliation catching a dropped
/// delivery (counted as missed), duplicated and reordered deliveries, and `hooks remove`.
@Suite("Webhooks end to end (the real binary)")
struct HookEndToEndTests {
    static let apps = [
        PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 30, fields: .simple),
        PodioSimulator.AppSpec(name: "Tasks", urlLabel: "tasks", itemCount: 10, fields: .simple),
    ]
    /// Item, app and file hooks per app (comments are off in CLIHarness).
    static let typesPerApp = 5

    static func options() -> CLIHarness.Options {
        var options = CLIHarness.Options()
        options.apps = apps
        options.allowLoopbackHooks = true
        return options
    }

    static func title(_ h: CLIHarness, _ itemID: Int) async throws -> String? {
        try await h.scalar("SELECT title FROM podio.items WHERE item_id = $1 AND deleted_at IS NULL", [itemID])
    }

    static func liveHooks(_ h: CLIHarness) -> [PodioSimulator.HookInfo] { h.simulator.hooks().filter { !$0.deleted } }

    /// A worker listening on a free port, once its first run is done.
    static func startWorker(_ h: CLIHarness, _ extra: [String] = [], env: [String: String?] = [:]) async throws -> (
        BinaryProcess, String
    ) {
        let port = try FairSchedulingCLITests.freePort()
        let runsBefore = try await h.count("SELECT count(*) FROM podio.sync_runs")
        let worker = try h.start(["run", "--every", "1h", "--listen", "127.0.0.1:\(port)"] + extra, env: env)
        let up = try await h.waitUntil(timeout: 60, every: 50) {
            try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status <> 'running'") > runsBefore
        }
        try #require(up, "the worker ran no sync")
        return (worker, "http://127.0.0.1:\(port)")
    }

    @Test func installVerifiesListsKeepsAndRemovesHooksAndEventsArriveLive() async throws {
        try await CLIHarness.with(Self.options()) { h in
            let first = try await h.sync()
            try #require(first.status == 0, "\(first.printed)")
            let (worker, url) = try await Self.startWorker(h)
            // Podio's hook.verify reaches the receiver before the create call's answer.
            h.simulator.setHookFaults(PodioSimulator.HookFaults(verifyBeforeCreateAnswer: true))
            let install = try await h.run(["hooks", "install", "--url", url, "--wait", "20s"])
            #expect(install.status == 0, "\(install.printed)")
            let expected = Self.apps.count * Self.typesPerApp
            #expect(install.stdout.contains("all \(expected) hooks are active"), "\(install.printed)")
            let hooks = Self.liveHooks(h)
            #expect(hooks.count == expected)
            #expect(hooks.allSatisfy { $0.status == "active" }, "\(hooks)")
            #expect(
                Set(hooks.map(\.type)) == ["item.create", "item.update", "item.delete", "app.update", "file.change"])
            let secret = try #require(try await h.scalar("SELECT secret FROM podio_auth.hook_secret"))
            #expect(secret.count == 64)
            #expect(hooks.allSatisfy { $0.url == "\(url)/hooks/\(secret)" })
            #expect(!install.printed.contains(secret))
            #expect(install.stdout.contains("\(url)/hooks/<secret>"))
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.hooks WHERE status = 'active' AND verified_at IS NOT NULL") == expected)

            // Changes in Podio reach the mirror without a sync.
            let app = h.simulator.appIDs()[0]
            let ids = try await h.itemIDs(app: app)
            try h.simulator.editItem(itemID: ids[0], title: "edited in Podio")
            let created = try h.simulator.createItem(appID: app, title: "created in Podio")
            try h.simulator.deleteItem(itemID: ids[1])
            let live = try await h.waitUntil(timeout: 30, every: 50) {
                let edited = try await Self.title(h, ids[0])
                let made = try await Self.title(h, created)
                let gone = try await h.count(
                    "SELECT count(*) FROM podio.items WHERE item_id = $1 AND deleted_at IS NOT NULL", [ids[1]])
                return edited == "edited in Podio" && made == "created in Podio" && gone == 1
            }
            #expect(live, "the events were not applied")

            // `hooks list`: Podio's view and the mirror's, the secret redacted.
            let list = try await h.run(["hooks", "list"])
            #expect(list.status == 0, "\(list.printed)")
            let rows = list.stdout.split(separator: "\n").dropFirst()
            #expect(rows.count == expected, "\(list.printed)")
            #expect(
                rows.allSatisfy {
                    $0.contains(" active ") && $0.contains(" verified ") && $0.hasSuffix("/hooks/<secret>")
                }, "\(list.printed)")

            // Installing again changes nothing in Podio.
            let again = try await h.run(["hooks", "install", "--url", url])
            #expect(again.status == 0, "\(again.printed)")
            #expect(Self.liveHooks(h).map(\.hookID).sorted() == hooks.map(\.hookID).sorted())
            #expect(
                again.stdout.split(separator: "\n").filter { $0.contains(" kept ") }.count == expected,
                "\(again.printed)")

            // Podio reports a hook inactive: the next install (or the worker's reconciliation)
            // asks Podio to verify it again, and the receiver completes it.
            let dropped = try #require(hooks.first { $0.type == "item.update" && $0.appID == app })
            try h.simulator.setHookActive(hookID: dropped.hookID, false)
            let reverify = try await h.run(["hooks", "install", "--url", url, "--wait", "20s"])
            #expect(reverify.stdout.contains("verification requested"), "\(reverify.printed)")
            #expect(reverify.stdout.contains("all \(expected) hooks are active"), "\(reverify.printed)")
            #expect(h.simulator.hooks().first { $0.hookID == dropped.hookID }?.status == "active")

            // Remove: gone in Podio and in the table.
            let remove = try await h.run(["hooks", "remove"])
            #expect(remove.status == 0, "\(remove.printed)")
            #expect(Self.liveHooks(h).isEmpty)
            #expect(try await h.count("SELECT count(*) FROM podio.hooks") == 0)
            let after = try await h.run(["hooks", "list"])
            #expect(after.stdout.contains("no hooks"), "\(after.printed)")

            worker.terminate()
            let stopped = await h.finish(worker)
            #expect(stopped.status == 0, "\(stopped.printed)")
            #expect(try await h.differences() == [])
            try await h.expectNoSecretsLeaked(extra: [secret])
        }
    }

    @Test func reconciliationCatchesADroppedDeliveryAndDuplicatesOrReorderingChangeNothing() async throws {
        try await CLIHarness.with(Self.options()) { h in
            let first = try await h.sync()
            try #require(first.status == 0, "\(first.printed)")
            // Installed while no receiver runs: registered, verification pending (exit 75).
            let port = try FairSchedulingCLITests.freePort()
            let url = "http://127.0.0.1:\(port)"
            let install = try await h.run(["hooks", "install", "--url", url, "--wait", "1s"])
            #expect(install.status == 75, "\(install.printed)")
            #expect(install.stderr.contains("hooks await verification"), "\(install.printed)")
            #expect(install.stderr.contains("run --listen"), "\(install.printed)")
            let expected = Self.apps.count * Self.typesPerApp
            #expect(try await h.count("SELECT count(*) FROM podio.hooks WHERE status = 'inactive'") == expected)
            // Installed again while nothing answers at the URL: Podio is not asked to verify
            // (its own hook.verify at creation is the only one), nothing is created twice.
            let deaf = try await h.run(["hooks", "install", "--url", url, "--wait", "1s"])
            #expect(deaf.status == 75, "\(deaf.printed)")
            #expect(
                deaf.stdout.split(separator: "\n").filter { $0.contains("receiver not answering") }.count == expected,
                "\(deaf.printed)")
            #expect(Self.liveHooks(h).count == expected)
            #expect(Self.liveHooks(h).allSatisfy { $0.verifications == 1 }, "\(Self.liveHooks(h))")
            // The worker that stays: a reconciliation every 2 s for apps with active hooks, no
            // grace for deliveries on their way (the test's edits are all older than a delta).
            // Starting, it asks Podio to verify the pending hooks again and completes them.
            let app = h.simulator.appIDs()[0]
            let ids = try await h.itemIDs(app: app)
            let worker = try h.start(
                ["run", "--every", "1s", "--reconcile-every", "2s", "--listen", "127.0.0.1:\(port)"],
                env: ["PODIO_HOOK_GRACE": "0s"])
            let verified = try await h.waitUntil(timeout: 30, every: 50) {
                try await h.count("SELECT count(*) FROM podio.hooks WHERE status = 'active'") == expected
            }
            #expect(verified, "the worker did not complete the verification")
            #expect(Self.liveHooks(h).allSatisfy { $0.status == "active" })
            // Podio turns a hook inactive: the worker's reconciliation verifies it again.
            let hook = try #require(Self.liveHooks(h).first { $0.appID == app && $0.type == "item.update" })
            try h.simulator.setHookActive(hookID: hook.hookID, false)
            let reactivated = try await h.waitUntil(timeout: 30, every: 50) {
                h.simulator.hooks().first { $0.hookID == hook.hookID }?.status == "active"
            }
            #expect(reactivated, "the inactive hook was not verified again")

            // Every delivery of this edit is lost: only reconciliation can bring it.
            h.simulator.setHookFaults(PodioSimulator.HookFaults(dropRate: 1))
            try h.simulator.editItem(itemID: ids[2], title: "delivery dropped")
            let caught = try await h.waitUntil(timeout: 30, every: 50) {
                try await Self.title(h, ids[2]) == "delivery dropped"
            }
            #expect(caught, "reconciliation did not catch the dropped delivery")
            let missed = try await h.waitUntil(timeout: 10, every: 50) {
                try await h.count("SELECT hooks_missed FROM podio.sync_state WHERE app_id = $1", [app]) == 1
            }
            #expect(missed, "the dropped delivery was not counted as missed")

            // Duplicated and reordered deliveries: every item ends at its latest revision.
            h.simulator.setHookFaults(PodioSimulator.HookFaults(duplicateRate: 1, reorderWindow: 4, seed: 3))
            try h.simulator.editItem(itemID: ids[3], title: "one")
            try h.simulator.editItem(itemID: ids[3], title: "two")
            try h.simulator.editItem(itemID: ids[4], title: "three")
            try h.simulator.editItem(itemID: ids[3], title: "four")
            h.simulator.flushHeldHooks()
            let settled = try await h.waitUntil(timeout: 30, every: 50) {
                let a = try await Self.title(h, ids[3])
                let b = try await Self.title(h, ids[4])
                return a == "four" && b == "three"
            }
            #expect(settled)
            #expect(h.simulator.hooks().reduce(0) { $0 + $1.duplicated } >= 4)
            let status = try await h.run(["status"])
            #expect(status.stdout.contains("missed by hooks 1"), "\(status.printed)")
            worker.terminate()
            let stopped = await h.finish(worker)
            #expect(stopped.status == 0, "\(stopped.printed)")
            #expect(
                stopped.stderr.contains("reconciliation found 1 change that no hook delivered"), "\(stopped.stderr)")
            #expect(try await h.differences() == [])
            #expect(try await h.count("SELECT count(*) FROM podio.hook_events WHERE applied_at IS NULL") == 0)
        }
    }

    /// The worker acknowledged an event (it is queued) and was killed before applying it: the
    /// next worker applies it.
    @Test func anEventAcknowledgedByAWorkerKilledBeforeApplyingItIsAppliedByTheNext() async throws {
        try await CLIHarness.with(Self.options()) { h in
            let first = try await h.sync()
            try #require(first.status == 0, "\(first.printed)")
            let (worker, url) = try await Self.startWorker(h)
            let install = try await h.run(["hooks", "install", "--url", url, "--wait", "20s"])
            try #require(install.status == 0, "\(install.printed)")
            let app = h.simulator.appIDs()[0]
            let itemID = try #require(try await h.itemIDs(app: app).first)
            // Podio answers the worker's item read with 500s: the event waits in the queue.
            h.simulator.injectFaults(.serverError, count: 10_000)
            try h.simulator.editItem(itemID: itemID, title: "acknowledged, then the worker died")
            let queued = try await h.waitUntil(timeout: 30, every: 20) {
                try await h.count(
                    "SELECT count(*) FROM podio.hook_events WHERE item_id = $1 AND type = 'item.update'", [itemID]) == 1
            }
            try #require(queued, "the event was not acknowledged")
            worker.kill()
            let killed = await h.finish(worker)
            #expect(killed.signaled)
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.hook_events WHERE item_id = $1 AND applied_at IS NULL", [itemID]) == 1)
            #expect(try await Self.title(h, itemID) != "acknowledged, then the worker died")
            h.simulator.clearFaults()
            let port = URL(string: url)?.port ?? 0
            let next = try h.start(["run", "--every", "1h", "--listen", "127.0.0.1:\(port)"])
            let applied = try await h.waitUntil(timeout: 30, every: 50) {
                try await Self.title(h, itemID) == "acknowledged, then the worker died"
            }
            #expect(applied, "the queued event was not applied after the restart")
            #expect(try await h.count("SELECT count(*) FROM podio.hook_events WHERE applied_at IS NULL") == 0)
            next.terminate()
            let stopped = await h.finish(next)
            #expect(stopped.status == 0, "\(stopped.printed)")
        }
    }
}
