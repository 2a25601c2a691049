import Foundation
import LibPQ
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 16 through the real binary: the starvation scenario of a tight quota, three `run`
/// workers sharing one database (one killed mid-page), and `run --listen`.
@Suite("Every app gets its turn (the real binary)")
struct FairSchedulingCLITests {
    /// The issue's four apps: 1,234 + 37 + 0 + 501 items.
    static let issueApps = [
        PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 1_234, fields: .simple),
        PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 37, fields: .simple),
        PodioSimulator.AppSpec(name: "Archive", urlLabel: "archive", itemCount: 0, fields: .simple),
        PodioSimulator.AppSpec(name: "Tasks", urlLabel: "tasks", itemCount: 501, fields: .simple),
    ]

    /// Apps complete: a full load done and none unfinished.
    static func completeApps(_ h: CLIHarness) async throws -> Int {
        try await h.count(
            "SELECT count(*) FROM podio.sync_state WHERE last_full_sync_at IS NOT NULL AND full_pass_run_id IS NULL")
    }

    /// The issue's scenario at a fifth of its scale: 4 rate-limited calls per 4 s (the issue: per
    /// 20 s), `sync --max-wait 1s` (5s) again and again, 0.4 s apart (2 s). Before, every run
    /// spent its budget on the app list and the deltas of the apps already done, and two apps
    /// were never synced. The work is 2 calls for the app list and 7 pages: every app must be
    /// complete within ceil(9 / 4) + 1 = 4 windows, and a run must then finish with exit 0.
    @Test func theStarvationScenarioEndsWithEveryAppCompleteAndNoA420() async throws {
        let window = 4.0
        var options = CLIHarness.Options()
        options.apps = Self.issueApps
        options.simulatorLimits = (4, 100, window)
        options.quota = (4, 100, window)
        try await CLIHarness.with(options) { h in
            let started = Date()
            var runs = 0
            var completeAfter: (runs: Int, seconds: Double)?
            var finished = false
            while runs < 60 && !finished {
                runs += 1
                let outcome = try await h.run(["sync", "--max-wait", "1s"])
                #expect([0, 75].contains(outcome.status), "\(outcome.printed)")
                let complete = try await Self.completeApps(h)
                if complete == 4 && completeAfter == nil { completeAfter = (runs, Date().timeIntervalSince(started)) }
                finished = outcome.status == 0 && complete == 4
                if !finished { try await Task.sleep(for: .milliseconds(400)) }
            }
            let (completeRuns, completeSeconds) = try #require(
                completeAfter, "not every app was complete after \(runs) runs")
            CLIHarness.timing(
                "starvation: every app complete after \(completeRuns) runs; exit 0 after \(runs) runs", since: started)
            #expect(finished, "no run finished with exit 0 in \(runs) runs")
            // ceil(9 / 4) + 1 windows, and a second of slack for the last run's own work.
            #expect(
                completeSeconds <= 4 * window + 1, "every app complete after \(completeRuns) runs, \(completeSeconds) s"
            )
            let stats = h.simulator.stats()
            #expect(stats.rateLimitErrors == 0, "\(stats)")
            #expect((stats.maxCallsInWindow["rate_limited"] ?? 99) <= 4, "\(stats)")
            // The app list was asked of Podio once, not once a run.
            #expect(stats.callsByEndpoint["GET /org/"] == 1, "\(stats.callsByEndpoint)")
            let differences = try await h.differences()
            #expect(differences == [])
            // status: each app known complete, with its lag.
            let status = try await h.run(["status"])
            #expect(status.status == 0)
            #expect(status.stdout.components(separatedBy: "complete up to").count - 1 == 4, "\(status.stdout)")
            #expect(!status.stdout.contains("never complete"), "\(status.stdout)")
            let json = try await h.run(["status", "--json"])
            let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            let apps = report?["apps"] as? [[String: Any]] ?? []
            #expect(apps.count == 4)
            #expect(apps.allSatisfy { $0["completeUpTo"] != nil && $0["lagSeconds"] != nil }, "\(json.stdout)")
            #expect((report?["schedule"] as? [String: Any])?["source"] as? String == "recent runs")
            try await h.expectNoSecretsLeaked()
        }
    }

    /// Three `run` workers on one database under a small quota; one is killed while a page of a
    /// full load is in flight. The others carry on, the app resumes from its checkpoint, no app
    /// is held by two workers at once, no 420, every app done.
    @Test func threeWorkersShareTheAppsAndTheOthersResumeAKilledOnesApp() async throws {
        var options = CLIHarness.Options()
        options.apps = [
            PodioSimulator.AppSpec(name: "Big", urlLabel: "big", itemCount: 1_500, fields: .simple),
            PodioSimulator.AppSpec(name: "Mid", urlLabel: "mid", itemCount: 900, fields: .simple),
            PodioSimulator.AppSpec(name: "Small", urlLabel: "small", itemCount: 400, fields: .simple),
            PodioSimulator.AppSpec(name: "Tiny", urlLabel: "tiny", itemCount: 60, fields: .simple),
            PodioSimulator.AppSpec(name: "Empty", urlLabel: "empty", itemCount: 0, fields: .simple),
        ]
        options.simulatorLimits = (6, 200, 3)
        options.quota = (6, 200, 3)
        try await CLIHarness.with(options) { h in
            // Slow answers, so that a page is in flight long enough to be killed in.
            h.simulator.injectFaults(.delay(milliseconds: 250), rate: 1)
            let workers = try (0..<3).map { _ in try h.start(["run", "--every", "1s"]) }
            var victim: BinaryProcess?
            var victimApp: Int?
            let reached = try await h.waitUntil(timeout: 60, every: 5) {
                // A full load with a committed page, in a pass of one of the workers (the run that
                // started the load, `full_pass_run_id`, may have deferred and another resumed it),
                // its next page in flight.
                let rows = try await h.rows(
                    """
                    SELECT p.app_id, r.pid, r.run_id FROM podio.app_passes p JOIN podio.sync_runs r USING (run_id)
                    JOIN podio.sync_state s ON s.app_id = p.app_id
                    WHERE p.mode = 'full' AND p.finished_at IS NULL AND s.full_pass_offset >= 500 AND r.status = 'running'
                      AND EXISTS (SELECT 1 FROM podio.api_calls c WHERE c.run_id = r.run_id AND c.endpoint LIKE '%/filter/'
                                  AND c.status IS NULL)
                    """)
                for row in rows {
                    if let worker = workers.first(where: { Int($0.pid) == row.int("pid") }) {
                        victim = worker
                        victimApp = row.int("app_id")
                        return true
                    }
                }
                return false
            }
            if !reached {
                // What the workers did instead, for the failure message.
                let runs = try await h.rows(
                    "SELECT run_id, pid, status, coalesce(error, '') AS error FROM podio.sync_runs ORDER BY run_id")
                let states = try await h.rows(
                    "SELECT app_id, full_pass_offset, full_pass_run_id, last_full_sync_at IS NOT NULL AS done FROM podio.sync_state"
                )
                let trace =
                    runs.map {
                        "run \($0.string("run_id") ?? "") pid \($0.string("pid") ?? "") \($0.string("status") ?? "") \($0.string("error") ?? "")"
                    }
                    + states.map {
                        "app \($0.string("app_id") ?? "") offset \($0.string("full_pass_offset") ?? "") run \($0.string("full_pass_run_id") ?? "") done \($0.string("done") ?? "")"
                    }
                Issue.record("workers: \(workers.map(\.pid)); \(trace.joined(separator: "; "))")
            }
            try #require(reached, "no worker was caught in the middle of a full load")
            let killed = try #require(victim)
            let app = try #require(victimApp)
            killed.kill()
            let killedAt = Date()
            _ = await h.finish(killed)
            let others = workers.filter { $0.pid != killed.pid }
            let done = try await h.waitUntil(timeout: 60, every: 50) { try await Self.completeApps(h) == 5 }
            for worker in others { worker.terminate() }
            for worker in others {
                let outcome = await h.finish(worker)
                #expect(outcome.status == 0 && !outcome.signaled, "\(outcome.printed)")
                #expect(outcome.stderr.contains("scheduler stopped"))
            }
            try #require(done, "not every app was done after the kill")
            // The app was resumed by another worker from the killed one's checkpoint.
            let resumed = try await h.rows(
                """
                SELECT p.resumed_at_offset, r.pid FROM podio.app_passes p JOIN podio.sync_runs r USING (run_id)
                WHERE p.app_id = $1 AND p.mode = 'full' AND p.started_at > $2 ORDER BY p.pass_id LIMIT 1
                """, [app, killedAt])
            #expect(
                (resumed.first?.int("resumed_at_offset") ?? 0) >= 500,
                "\(resumed.map { $0.string("resumed_at_offset") ?? "nil" })")
            #expect(resumed.first?.int("pid") != Int(killed.pid))
            // No app held by two runs at once: passes of one app never overlap (the killed
            // worker's pass has no end; it began before every later pass of its app).
            let overlaps = try await h.count(
                """
                SELECT count(*) FROM podio.app_passes a JOIN podio.app_passes b ON a.app_id = b.app_id AND a.pass_id < b.pass_id
                WHERE b.started_at < coalesce(a.finished_at, $1::timestamptz) AND a.started_at < coalesce(b.finished_at, 'infinity')
                """, [killedAt])
            #expect(overlaps == 0)
            // The work was shared: passes by at least two workers.
            #expect(
                try await h.count(
                    "SELECT count(DISTINCT r.pid) FROM podio.app_passes p JOIN podio.sync_runs r USING (run_id)") >= 2)
            let stats = h.simulator.stats()
            #expect(stats.rateLimitErrors == 0, "\(stats)")
            #expect((stats.maxCallsInWindow["rate_limited"] ?? 99) <= 6, "\(stats)")
            h.simulator.clearFaults()
            let differences = try await h.differences()
            #expect(differences == [])
            try await h.expectNoSecretsLeaked()
        }
    }

    /// `run --listen`: /healthz and /metrics with real values; a failed run makes /healthz 503.
    @Test func runServesHealthAndPrometheusMetrics() async throws {
        var options = CLIHarness.Options()
        options.apps = Array(Self.issueApps.prefix(2))
        try await CLIHarness.with(options) { h in
            let http = AsyncHTTPClientTransport(connectTimeout: 5, readTimeout: 10)
            defer { Task { try? await http.shutdown() } }
            let port = try Self.freePort()
            let worker = try h.start(["run", "--every", "1s", "--listen", "127.0.0.1:\(port)"])
            let ran = try await h.waitUntil(timeout: 60, every: 50) {
                try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'succeeded'") >= 2
            }
            try #require(ran, "the scheduler ran no sync")
            let health = try await Self.get(http, "http://127.0.0.1:\(port)/healthz")
            #expect(health.status == 200)
            #expect(health.body.hasPrefix("ok: the database answers; the last run succeeded at"), "\(health.body)")
            #expect(health.body.split(separator: "\n").count == 1)
            let metrics = try await Self.get(http, "http://127.0.0.1:\(port)/metrics")
            #expect(metrics.status == 200)
            let text = metrics.body
            let appIDs = h.simulator.appIDs()
            // The identity's kind and a hash of it: never the user's name.
            let identity = try #require(
                text.firstMatch(of: /podio_mirror_quota_used_calls\{identity="(user-[0-9a-f]{8})"/)?.output.1)
            for expected in [
                #"podio_mirror_api_calls_total{tier="rate_limited",code="200"} "#,
                #"podio_mirror_api_calls_total{tier="general",code="200"} "#,
                #"podio_mirror_quota_used_calls{identity="\#(identity)",tier="rate_limited"} "#,
                #"podio_mirror_quota_free_calls{identity="\#(identity)",tier="rate_limited"} "#,
                #"podio_mirror_items_written_total{app_id="\#(appIDs[0])"} 1234"#,
                #"podio_mirror_items_written_total{app_id="\#(appIDs[1])"} 37"#,
                #"podio_mirror_runs_total{kind="sync",outcome="succeeded"} "#,
                #"podio_mirror_run_duration_seconds_bucket{kind="sync",outcome="succeeded",le="#,
                #"podio_mirror_run_duration_seconds_count{kind="sync",outcome="succeeded"} "#,
                #"podio_mirror_app_lag_seconds{app_id="\#(appIDs[0])"} "#,
                "podio_mirror_apps_gone 0",
            ] {
                #expect(text.contains(expected), "missing \(expected) in:\n\(text)")
            }
            // Real values: the calls counted match the ledger's.
            let filterCalls = try await h.count(
                "SELECT count(*) FROM podio.api_calls WHERE tier = 'rate_limited' AND status = 200")
            let line = text.split(separator: "\n").first {
                $0.hasPrefix(#"podio_mirror_api_calls_total{tier="rate_limited",code="200"} "#)
            }
            #expect(line.flatMap { Int($0.split(separator: " ").last ?? "") } == filterCalls, "\(line ?? "none")")
            // A second listener on the same port: one line, exit 64.
            let clash = try await h.run(["run", "--every", "1s", "--listen", "127.0.0.1:\(port)"], timeout: 30)
            #expect(clash.status == 64, "\(clash.printed)")
            #expect(
                clash.stderrLines.last
                    == "podio-mirror: could not listen on 127.0.0.1:\(port): address already in use; choose a free port or another address for --listen",
                "\(clash.printed)")
            worker.terminate()
            let stopped = await h.finish(worker)
            #expect(stopped.status == 0, "\(stopped.printed)")
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio.workers WHERE stopped_at IS NOT NULL AND listen = $1",
                    ["127.0.0.1:\(port)"]) == 1)

            // Refused credentials: the run fails and /healthz says so, with a 503.
            _ = try await h.db.run {
                try $0.execute("DELETE FROM podio_auth.oauth_tokens; DELETE FROM podio_auth.token_requests")
            }
            let failing = try h.start(
                ["run", "--every", "1s", "--listen", "127.0.0.1:\(port)"],
                env: ["PODIO_CLIENT_SECRET": "not-the-secret"])
            let failed = try await h.waitUntil(timeout: 30, every: 50) {
                try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'failed'") >= 1
            }
            try #require(failed, "the run with a wrong secret did not fail")
            var unhealthy: (status: Int, body: String)?
            _ = try await h.waitUntil(timeout: 10, every: 100) {
                unhealthy = try? await Self.get(http, "http://127.0.0.1:\(port)/healthz")
                return unhealthy?.status == 503
            }
            #expect(unhealthy?.status == 503)
            #expect(unhealthy?.body.hasPrefix("unhealthy: the last run failed at") == true, "\(unhealthy?.body ?? "")")
            #expect(unhealthy?.body.contains("Podio refused the credentials") == true, "\(unhealthy?.body ?? "")")
            // Not ready either (credentials do not mend by waiting), though alive.
            let notReady = try await Self.get(http, "http://127.0.0.1:\(port)/readyz")
            #expect(notReady.status == 503 && notReady.body.hasPrefix("not ready: Podio refused"), "\(notReady)")
            let alive = try await Self.get(http, "http://127.0.0.1:\(port)/livez")
            #expect(alive.status == 200, "\(alive)")
            failing.terminate()
            let end = await h.finish(failing)
            #expect(end.status == 0, "\(end.printed)")
            h.record(unhealthy?.body ?? "")
            h.record(text)
            try await h.expectNoSecretsLeaked(extra: ["not-the-secret"])
        }
    }

    static func get(_ http: AsyncHTTPClientTransport, _ url: String) async throws -> (status: Int, body: String) {
        let response = try await http.send(TransportRequest(method: "GET", url: url, timeout: 10))
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    /// A loopback port nothing listens on (the kernel's pick for a socket bound to port 0).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ChildProcess.Failure(description: "socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw ChildProcess.Failure(description: "bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
