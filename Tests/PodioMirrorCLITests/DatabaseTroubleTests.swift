import Foundation
import LibPQ
import PodioSimulator
import TestSupport
import Testing

@Suite("Database trouble")
struct DatabaseTroubleTests {
    static let app = PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 1_200, fields: .simple)

    @Test func postgresRestartedMidSync() async throws {
        let server = try await PrivatePostgres.start()
        do {
            let database = MirrorDatabase(url: server.url, drop: {})
            var options = CLIHarness.Options()
            options.apps = [Self.app]
            try await CLIHarness.with(options, database: database) { h in
                let appID = h.simulator.appIDs()[0]
                h.simulator.injectFaults(.delay(milliseconds: 300), rate: 1)
                let process = try h.start(["sync"])
                let reached = try await h.waitUntil(timeout: 60, every: 2) {
                    try await h.count("SELECT coalesce(max(full_pass_offset), 0) FROM podio.sync_state") >= 500
                }
                try #require(reached)
                h.db.close()
                try await server.restart()
                let outcome = await h.finish(process)
                // Exit 70 with one clear line (a reconnect that finishes would be fine too).
                #expect([0, 70].contains(outcome.status), "\(outcome.printed)")
                if outcome.status == 70 {
                    let errors = outcome.stderrLines.filter { $0.hasPrefix("podio-mirror: ") }
                    #expect(errors.count == 1, "\(outcome.printed)")
                    #expect(errors.first?.contains("lost the connection to PostgreSQL") == true, "\(outcome.printed)")
                    #expect(errors.first?.contains("next run") == true, "\(outcome.printed)")
                    #expect(outcome.stderrLines.count <= 2, "\(outcome.printed)")
                }
                h.simulator.clearFaults()
                let db = try await database.connect()
                defer { db.close() }
                let next = try await h.run(["sync"])
                #expect(next.status == 0, "\(next.printed)")
                let live = try await db.run {
                    try $0.query(
                        "SELECT count(*) AS n FROM podio.items WHERE app_id = $1 AND deleted_at IS NULL", [appID]
                    ).first?.int("n")
                }
                #expect(live == 1_200)
                let values = try await db.run {
                    try $0.query(
                        "SELECT count(*) AS n FROM podio_apps.projects AS t JOIN podio.items AS i USING (item_id) WHERE i.app_id = $1",
                        [appID]
                    ).first?.int("n")
                }
                #expect(values == 1_200)
                let runs = try await db.run {
                    try $0.query("SELECT string_agg(status, ',' ORDER BY run_id) AS s FROM podio.sync_runs").first?
                        .string("s")
                }
                #expect(runs == "failed,succeeded")
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// The tables the test locks, and the setting that makes the wait end.
    struct LockCase: Sendable, CustomTestStringConvertible {
        var setting: String
        var says: String
        var testDescription: String { setting }
    }

    @Test(arguments: [
        LockCase(setting: "lock_timeout=1000", says: "lock_timeout"),
        LockCase(setting: "statement_timeout=1500", says: "statement_timeout"),
    ])
    func aLockHeldByAnotherSessionSurfacesClearly(_ c: LockCase) async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 40, fields: .simple)]
        try await CLIHarness.with(options) { h in
            try await h.sync()
            let app = h.simulator.appIDs()[0]
            for id in try await h.itemIDs(app: app).prefix(5) { try h.simulator.editItem(itemID: id) }
            let locker = try await h.database.connect()
            defer { locker.close() }
            try await locker.run { db in
                try db.execute("BEGIN")
                try db.execute("LOCK TABLE podio.items IN ACCESS EXCLUSIVE MODE")
            }
            let started = Date()
            let outcome = try await h.run(["sync"], env: ["PGOPTIONS": "-c \(c.setting)"], timeout: 60)
            #expect(Date().timeIntervalSince(started) < 30)
            _ = try await locker.run { try $0.execute("ROLLBACK") }
            #expect(outcome.status == 70, "\(outcome.printed)")
            #expect(outcome.stderrLines.count == 1, "\(outcome.printed)")
            #expect(outcome.stderr.contains(c.says), "\(outcome.printed)")
            #expect(try await h.scalar("SELECT status FROM podio.sync_runs ORDER BY run_id DESC LIMIT 1") == "failed")
            #expect(
                try await h.scalar("SELECT error FROM podio.sync_runs ORDER BY run_id DESC LIMIT 1")?.contains(
                    "timeout") == true)
            // Once the lock is gone the next run catches up.
            try await h.sync()
            let differences = try await h.differences()
            #expect(differences == [])
            try await h.expectNoSecretsLeaked()
        }
    }
}
