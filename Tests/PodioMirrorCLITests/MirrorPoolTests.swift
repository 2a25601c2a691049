import Foundation
import Logging
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

@testable import PodioMirror
@testable import PodioMirrorCLI

/// The engine's façade owns the database connections of `run`'s short questions: a bounded pool,
/// shared by the listener, the webhook receiver, the event worker and the worker record, that
/// makes a new connection when one broke. Counted by the server (`pg_stat_activity`).
@Suite("The mirror's connection pool")
struct MirrorPoolTests {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    static let listenerSessions = """
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name IN ('podio-mirror listener', 'podio-mirror worker')
        """

    @Test func atMostTwoConnectionsAndABrokenOneIsReplaced() async throws {
        try await CLIHarness.with(CLIHarness.Options()) { h in
            var settings = MirrorSettings()
            settings.databaseURL = h.database.url
            let mirror = Mirror.listener(settings: settings, logger: Self.logger)
            // Twenty questions at once share two connections.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 { group.addTask { try await mirror.ping(within: 10) } }
                try await group.waitForAll()
            }
            let held = try await h.count(Self.listenerSessions)
            #expect(held >= 1 && held <= 2, "\(held) sessions")
            // The server ends them: each question after that is answered by a new connection,
            // once a lost one was given back and dropped.
            _ = try await h.rows(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'podio-mirror listener'
                """)
            var failures = 0
            var answered = false
            for _ in 0..<4 where !answered {
                do {
                    try await mirror.ping(within: 10)
                    answered = true
                } catch {
                    failures += 1
                }
            }
            #expect(answered && failures <= 2, "\(failures) failures")
            #expect(try await h.count(Self.listenerSessions) <= 2)
            await mirror.close()
            let closed = try await h.waitUntil(timeout: 10, every: 20) { try await h.count(Self.listenerSessions) == 0 }
            #expect(closed, "the pool's connections are still open after close")
        }
    }

    /// A question the database does not answer in time frees its connection's slot at once: two
    /// statements stuck behind a lock (until the listener's 5 s statement timeout) do not hold
    /// the pool's two connections, and the next question is answered by a new one. The stuck
    /// connections are closed when their statements end. With the old pool the ping waited for
    /// the stuck statements and failed.
    @Test func aQuestionAnsweredLateFreesItsSlot() async throws {
        try await CLIHarness.with(CLIHarness.Options()) { h in
            var settings = MirrorSettings()
            settings.databaseURL = h.database.url
            let mirror = Mirror.listener(settings: settings, logger: Self.logger)
            let holder = try await h.database.connect()
            _ = try await holder.run { try $0.query("SELECT pg_advisory_lock(4242)") }
            var lateAnswers = 0
            await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        do {
                            _ = try await mirror.run(within: 0.5) { try $0.query("SELECT pg_advisory_lock(4242)") }
                            return false
                        } catch { return true }
                    }
                }
                for await late in group where late { lateAnswers += 1 }
            }
            #expect(lateAnswers == 2, "both questions stuck behind the lock get an error in time")
            // Both stuck statements still run (until the 5 s statement timeout); the ping is not
            // held up by them.
            try await mirror.ping(within: 3)
            holder.close()
            let settled = try await h.waitUntil(timeout: 15, every: 50) {
                try await h.count(Self.listenerSessions) <= Mirror.listenerConnections
            }
            #expect(settled, "the stuck connections are closed once their statements end")
            await mirror.close()
        }
    }

    /// `run --listen` with its probes, `/metrics` and the webhook receiver asked: at most the
    /// pool's two connections besides those of the syncs (before the façade: four, one each
    /// for the probes, the receiver, the event worker and the worker record).
    @Test func runListenHoldsAtMostThePoolsConnections() async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 20, fields: .simple)]
        try await CLIHarness.with(options) { h in
            let http = AsyncHTTPClientTransport(connectTimeout: 5, readTimeout: 10)
            defer { Task { try? await http.shutdown() } }
            let port = try FairSchedulingCLITests.freePort()
            let base = "http://127.0.0.1:\(port)"
            let worker = try h.start(["run", "--every", "1s", "--listen", "127.0.0.1:\(port)"])
            let ran = try await h.waitUntil(timeout: 60, every: 50) {
                try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'succeeded'") >= 2
            }
            try #require(ran, "the scheduler ran no sync")
            var most = 0
            // Long enough for the event worker's poll (every 5 s) to ask too.
            for round in 0..<40 {
                if round % 4 == 0 {
                    _ = try await FairSchedulingCLITests.get(http, "\(base)/metrics")
                    _ = try await FairSchedulingCLITests.get(http, "\(base)/healthz")
                    _ = try await HookReceiverTests.post(http, "\(base)/hooks/not-the-secret", body: "type=item.update")
                }
                most = max(most, try await h.count(Self.listenerSessions))
                try await Task.sleep(for: .milliseconds(200))
            }
            worker.terminate()
            let stopped = await h.finish(worker)
            #expect(stopped.status == 0, "\(stopped.printed)")
            #expect(most >= 1 && most <= 2, "run --listen held \(most) connections besides its syncs'")
        }
    }
}
