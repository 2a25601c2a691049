import Foundation
import LibPQ
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

/// The webhook receiver of `run --listen`, through the real binary: forged and malformed
/// requests are refused with a 4xx and one log line that never shows the secret; a genuine event
/// is queued before the 200 and applied by the run's event worker.
@Suite("Webhook receiver (the real binary)")
struct HookReceiverTests {
    static let apps = [PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 40, fields: .simple)]

    static func post(
        _ http: AsyncHTTPClientTransport, _ url: String, body: String,
        contentType: String = "application/x-www-form-urlencoded",
        method: String = "POST"
    ) async throws -> (status: Int, body: String) {
        let response = try await http.send(
            TransportRequest(
                method: method, url: url, headers: [("Content-Type", contentType)], body: Data(body.utf8), timeout: 10))
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    @Test func forgedRequestsAreRefusedAndAGenuineEventIsQueuedAndApplied() async throws {
        var options = CLIHarness.Options()
        options.apps = Self.apps
        options.allowLoopbackHooks = true
        try await CLIHarness.with(options) { h in
            let first = try await h.sync()
            try #require(first.status == 0, "\(first.printed)")
            let app = h.simulator.appIDs()[0]
            let http = AsyncHTTPClientTransport(connectTimeout: 5, readTimeout: 10)
            defer { Task { try? await http.shutdown() } }
            let port = try FairSchedulingCLITests.freePort()
            let worker = try h.start(["run", "--every", "1h", "--listen", "127.0.0.1:\(port)"])
            let base = "http://127.0.0.1:\(port)"
            let up = try await h.waitUntil(timeout: 60, every: 50) {
                try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'succeeded'") >= 2
            }
            try #require(up, "the scheduler ran no sync")
            let install = try await h.run(["hooks", "install", "--url", base, "--wait", "20s"])
            try #require(install.status == 0, "\(install.printed)")
            let secret = try #require(try await h.scalar("SELECT secret FROM podio_auth.hook_secret"))
            let hookID = try #require(
                h.simulator.hooks().first { $0.appID == app && $0.type == "item.update" && $0.status == "active" }?
                    .hookID)
            let hookURL = "\(base)/hooks/\(secret)"
            let items = try await h.rows(
                "SELECT item_id FROM podio.items WHERE app_id = $1 ORDER BY item_id LIMIT 1", [app])
            let itemID = try #require(items.first?.int("item_id"))
            let event = "type=item.update&hook_id=\(hookID)&item_id=\(itemID)&item_revision_id=5&external_id="

            // Forged or malformed: each refused, nothing queued.
            let wrongSecret = try await Self.post(
                http, "\(base)/hooks/\(String(repeating: "cd34", count: 16))", body: event)
            #expect(wrongSecret.status == 404)
            #expect(wrongSecret.body == "not found\n")
            let noPath = try await Self.post(http, "\(base)/anything", body: event)
            #expect(noPath == wrongSecret)
            let getting = try await Self.post(http, hookURL, body: "", method: "GET")
            #expect(getting.status == 405, "\(getting)")
            let text = try await Self.post(
                http, hookURL, body: #"{"type":"item.update","hook_id":7001}"#, contentType: "text/plain")
            #expect(text.status == 415)
            let oversized = try await Self.post(
                http, hookURL, body: event + "&pad=" + String(repeating: "x", count: 40_000))
            #expect(oversized.status == 413)
            let unknownHook = try await Self.post(
                http, hookURL, body: "type=item.update&hook_id=7999&item_id=\(itemID)")
            #expect(unknownHook.status == 403)
            let unknownVerify = try await Self.post(http, hookURL, body: "type=hook.verify&hook_id=7998&code=abc")
            #expect(unknownVerify.status == 403)  // no install is running
            let notAnEvent = try await Self.post(http, hookURL, body: "hello=world")
            #expect(notAnEvent.status == 400)
            let noItem = try await Self.post(http, hookURL, body: "type=item.update&hook_id=\(hookID)")
            #expect(noItem.status == 400)
            // Other encodings and events without hook_id are read, and refused when malformed.
            let noBoundary = try await Self.post(
                http, hookURL, body: "type=item.update", contentType: "multipart/form-data")
            #expect(noBoundary.status == 400, "\(noBoundary)")
            let notAnObject = try await Self.post(http, hookURL, body: "[1,2]", contentType: "application/json")
            #expect(notAnObject.status == 400, "\(notAnObject)")
            let badItem = try await Self.post(http, hookURL, body: "type=item.update&item_id=abc")
            #expect(badItem.status == 400, "\(badItem)")
            let unknownJSONHook = try await Self.post(
                http, hookURL, body: #"{"type":"item.update","hook_id":7999,"item_id":\#(itemID)}"#,
                contentType: "application/json")
            #expect(unknownJSONHook.status == 403, "\(unknownJSONHook)")
            #expect(try await h.count("SELECT count(*) FROM podio.hook_events WHERE type <> 'hook.verify'") == 0)

            // A genuine event: queued before the 200, then applied by the worker in seconds.
            // Edited with hook=false: the only delivery is the test's own.
            try h.simulator.editItem(itemID: itemID, title: "pushed by a hook", hook: false)
            let genuine = try await Self.post(http, hookURL, body: event)
            #expect(genuine.status == 200)
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.hook_events WHERE hook_id = $1 AND item_id = $2", [hookID, itemID]) == 1
            )
            let applied = try await h.waitUntil(timeout: 30, every: 50) {
                try await h.count(
                    "SELECT count(*) FROM podio.items WHERE item_id = $1 AND title = 'pushed by a hook'", [itemID]) == 1
            }
            #expect(applied, "the event was not applied")
            // Marked applied just after the write commits.
            let drained = try await h.waitUntil(timeout: 30, every: 50) {
                try await h.count("SELECT count(*) FROM podio.hook_events WHERE applied_at IS NULL") == 0
            }
            #expect(drained, "the event stayed queued")
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.hooks WHERE hook_id = $1 AND last_event_at IS NOT NULL", [hookID])
                    == 1)
            let metrics = try await FairSchedulingCLITests.get(http, "\(base)/metrics")
            #expect(
                metrics.body.contains(#"podio_mirror_hook_events_received_total{type="item.update"} 1"#),
                "\(metrics.body)")
            #expect(
                metrics.body.contains(#"podio_mirror_hook_requests_refused_total{reason="path"} 2"#), "\(metrics.body)")
            #expect(metrics.body.contains(#"podio_mirror_hooks_active{app_id="\#(app)"} 5"#), "\(metrics.body)")

            worker.terminate()
            let stopped = await h.finish(worker)
            #expect(stopped.status == 0, "\(stopped.printed)")
            // One log line per refused request, none showing the secret.
            let refusals = stopped.stderr.split(separator: "\n").filter { $0.contains("webhook request refused") }
            #expect(refusals.count == 13, "\(stopped.stderr)")
            #expect(
                refusals.contains { $0.contains("not a Podio event: a multipart body without a boundary") },
                "\(stopped.stderr)")
            #expect(!stopped.printed.contains(secret))
            let status = try await h.run(["status"])
            #expect(status.stdout.contains("hooks: 5 active; last event"), "\(status.printed)")
            try await h.expectNoSecretsLeaked(extra: [secret])
        }
    }
}
