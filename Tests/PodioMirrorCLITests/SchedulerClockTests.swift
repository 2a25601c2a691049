import Foundation
import LibPQ
import Logging
import PodioAPI
import PodioMirror
import PodioSimulator
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import PodioMirrorCLI

/// A clock that jumps instead of sleeping: hours of schedule in a second.
final class JumpingClock: WallClock {
    private let current: Mutex<Date>

    init(_ start: Date) {
        current = Mutex(start)
    }

    func now() -> Date { current.withLock { $0 } }

    func sleep(until deadline: Date) async throws {
        try Task.checkCancellation()
        current.withLock { $0 = max($0, deadline) }
        await Task.yield()
    }
}

/// The scheduler (`run`) in process, on an injected clock, and the listener's answers.
@Suite("The scheduler on an injected clock; health and listen addresses")
struct SchedulerClockTests {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    func settings(_ h: CLIHarness) -> MirrorSettings {
        var settings = MirrorSettings()
        settings.databaseURL = h.database.url
        settings.apiURL = h.simulator.baseURL
        settings.apiKey = PodioAPIKey(clientID: h.configuration.clientID, clientSecret: h.configuration.clientSecret)
        settings.userCredentials = .password(username: h.configuration.username, password: h.configuration.password)
        settings.requestTimeout = 10
        return settings
    }

    @Test func aDeltaEveryIntervalAndAResyncAtItsCadenceWithoutSleeping() async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 40, fields: .simple)]
        try await CLIHarness.with(options) { h in
            let start = Date()
            let clock = JumpingClock(start)
            let health = RunHealth()
            let scheduler = SchedulerService(
                settings: settings(h), interval: 900, resyncInterval: 3600, maxWait: 900, apps: nil, clock: clock,
                health: health, listen: nil, logger: Self.logger)
            let group = ServiceGroup(configuration: .init(services: [.init(service: scheduler)], logger: Self.logger))
            let running = Task { try await group.run() }
            let ran = try await h.waitUntil(timeout: 60, every: 20) { health.runs >= 6 }
            await group.triggerGracefulShutdown()
            try await running.value
            try #require(ran, "the scheduler made \(health.runs) runs")
            // Six runs of an hour and a quarter in the scheduler's time, in seconds of ours.
            #expect(Date().timeIntervalSince(start) < 60)
            #expect(clock.now().timeIntervalSince(start) >= 5 * 900)
            let first = try await h.rows("SELECT kind, status FROM podio.sync_runs ORDER BY run_id LIMIT 6")
            #expect(first.compactMap { $0.string("kind") } == ["sync", "sync", "sync", "sync", "resync", "sync"])
            #expect(first.allSatisfy { $0.string("status") == "succeeded" })
            // A run the stop caught ends after its last committed page, deferred (not failed).
            #expect([.succeeded, .deferred].contains(health.last?.outcome))
            // The worker was recorded with its schedule, and stopped.
            let worker = try await h.rows("SELECT every_seconds::float8 AS every, stopped_at FROM podio.workers")
            #expect(
                worker.count == 1 && worker.first?.double("every") == 900 && worker.first?.date("stopped_at") != nil)
            let differences = try await h.differences()
            #expect(differences == [])
        }
    }

    /// `run --every 1h --reconcile-every 45s`: the apps with active hooks are reconciled every
    /// 45 s (the scheduler wakes for them), the others wait for the hour; never clamped.
    @Test func aReconcileIntervalShorterThanTheIntervalIsHonouredForHookedAppsOnly() async throws {
        var options = CLIHarness.Options()
        options.apps = [
            PodioSimulator.AppSpec(name: "Hooked", urlLabel: "hooked", itemCount: 20, fields: .simple),
            PodioSimulator.AppSpec(name: "Plain", urlLabel: "plain", itemCount: 20, fields: .simple),
        ]
        try await CLIHarness.with(options) { h in
            let first = try await h.sync()
            try #require(first.status == 0, "\(first.printed)")
            let ids = h.simulator.appIDs()
            let (hooked, plain) = (ids[0], ids[1])
            _ = try await h.rows(
                """
                INSERT INTO podio.hooks (hook_id, app_id, type, url, status, verified_at)
                VALUES (77001, $1, 'item.update', 'https://mirror.example.com', 'active', now()) RETURNING hook_id
                """, [hooked])
            let runsBefore = try await h.count("SELECT count(*) FROM podio.sync_runs")
            let start = Date()
            let clock = JumpingClock(start)
            let health = RunHealth()
            var settings = settings(h)
            settings.reconcileInterval = 45
            let scheduler = SchedulerService(
                settings: settings, interval: 3600, resyncInterval: nil, maxWait: 60, apps: nil, clock: clock,
                health: health, listen: nil, logger: Self.logger)
            let group = ServiceGroup(configuration: .init(services: [.init(service: scheduler)], logger: Self.logger))
            let running = Task { try await group.run() }
            let ran = try await h.waitUntil(timeout: 60, every: 20) { health.runs >= 5 }
            await group.triggerGracefulShutdown()
            try await running.value
            try #require(ran, "the scheduler made \(health.runs) runs")
            // Five runs within the first hour of the scheduler's time (clamped: five hours).
            #expect(clock.now().timeIntervalSince(start) < 3600, "\(clock.now().timeIntervalSince(start)) s")
            let runs = try await h.rows(
                "SELECT apps::text AS apps FROM podio.sync_runs ORDER BY run_id OFFSET $1", [runsBefore])
            let covered = runs.map { $0.string("apps") ?? "" }
            // The plain app only in the hour's regular run; the hooked one in the others (the
            // last one, stopped by the test, may have taken none).
            #expect(covered.filter { $0.contains(String(plain)) }.count == 1, "\(covered)")
            #expect(covered.filter { $0 == "{\(hooked)}" }.count >= 3, "\(covered)")
            #expect(covered.dropFirst().allSatisfy { $0 == "{\(hooked)}" || $0 == "{}" }, "\(covered)")
        }
    }

    @Test func healthIsOKUntilARunFailsOrTheDatabaseIsAway() async throws {
        try await CLIHarness.with(CLIHarness.Options()) { h in
            let runs = RunHealth()
            let probe = Mirror.listener(settings: settings(h), logger: Self.logger)
            var answer = await MonitoringServer.health(mirror: probe, runs: runs)
            #expect(answer.ok && answer.line == "ok: the database answers; no run has finished yet")
            runs.record(outcome: .deferred, message: "deferred: the rate_limited quota allows the next call at …")
            answer = await MonitoringServer.health(mirror: probe, runs: runs)
            #expect(answer.ok && answer.line.hasPrefix("ok: the database answers; the last run deferred at"))
            runs.record(outcome: .busy, message: "another podio-mirror run is syncing app 1")
            #expect(await MonitoringServer.health(mirror: probe, runs: runs).ok)
            runs.record(outcome: .failed, message: "Podio is unavailable: 503")
            answer = await MonitoringServer.health(mirror: probe, runs: runs)
            #expect(
                !answer.ok && answer.line.hasPrefix("unhealthy: the last run failed at")
                    && answer.line.hasSuffix(": Podio is unavailable: 503"))
            // A database that does not answer: 503 whatever the runs did.
            runs.record(outcome: .succeeded, message: "")
            var awaySettings = settings(h)
            awaySettings.databaseURL = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
            let away = Mirror.listener(settings: awaySettings, logger: Self.logger)
            answer = await MonitoringServer.health(mirror: away, runs: runs)
            #expect(
                !answer.ok
                    && answer.line.hasPrefix("unhealthy: the database does not answer: could not connect to PostgreSQL")
            )
            #expect(!answer.line.contains("\n"))
        }
    }

    @Test func listenAddresses() {
        #expect(ListenAddress("127.0.0.1:9464") == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(ListenAddress("0.0.0.0:9100")?.description == "0.0.0.0:9100")
        #expect(ListenAddress("9100") == ListenAddress(host: "127.0.0.1", port: 9100))
        #expect(ListenAddress(":9100") == ListenAddress(host: "127.0.0.1", port: 9100))
        #expect(ListenAddress("localhost") == ListenAddress(host: "localhost", port: 9464))
        #expect(ListenAddress("[::1]:9100") == ListenAddress(host: "::1", port: 9100))
        #expect(ListenAddress("[::1]")?.description == "[::1]:9464")
        #expect(ListenAddress("::1") == ListenAddress(host: "::1", port: 9464))
        for bad in [
            "", "host:port", "127.0.0.1:70000", "[::1", "a b:1", "[::1]x", "nonsense:host:1", "[host]:1", "a/b:1",
        ] {
            #expect(ListenAddress(bad) == nil, "\(bad)")
        }
    }
}
