import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

/// Each command through the real binary: its happy path and one failure, exit code and the
/// one-line message checked.
@Suite("Commands through the podio-mirror binary")
struct CommandTests {
    static let binary = ProcessRunner.binary("podio-mirror")
    static let apps = [
        PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 120),
        PodioSimulator.AppSpec(name: "Leads & Clients", urlLabel: "leads-clients", itemCount: 30, fields: .simple),
    ]

    func run(_ arguments: [String], _ env: [String: String], timeout: Double = 120) async throws
        -> ProcessRunner.Outcome
    {
        try await ProcessRunner.run(Self.binary, arguments, environment: env, timeout: timeout)
    }

    /// One line on stderr, naming the problem, and no stack trace.
    func expectOneLine(
        _ outcome: ProcessRunner.Outcome, contains text: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
        #expect(outcome.stderr.contains(text), "stderr: \(outcome.stderr)", sourceLocation: sourceLocation)
        #expect(
            !outcome.stderr.contains("Fatal error") && !outcome.stderr.contains("Stack"), sourceLocation: sourceLocation
        )
    }

    @Test func migrate() async throws {
        try await TestSlots.with(weight: TestSlots.scenario) {
            let database = try await TestDatabase.create(prefix: "cmd")
            var env = ProcessInfo.processInfo.environment
            env["DATABASE_URL"] = database.url
            let first = try await run(["migrate"], env)
            #expect(first.status == 0)
            #expect(first.stdout == "schema created (version \(SchemaMigrator.currentVersion))\n")
            let second = try await run(["migrate"], env)
            #expect(second.stdout == "schema is up to date (version \(SchemaMigrator.currentVersion))\n")
            env["DATABASE_URL"] = "postgresql://mirror:Sup3rS3cret@127.0.0.1:1/podio?connect_timeout=2"
            let bad = try await run(["migrate"], env)
            #expect(bad.status == 70)
            expectOneLine(bad, contains: "could not connect to PostgreSQL")
            #expect(!bad.stderr.contains("Sup3rS3cret"))
            // An older schema (version 0, an index missing) is upgraded.
            let db = try await database.connect()
            _ = try await db.run { db in
                try db.execute("DROP INDEX podio.items_app_last_edit_idx; UPDATE podio.schema_version SET version = 0")
            }
            env["DATABASE_URL"] = database.url
            let upgrade = try await run(["migrate"], env)
            #expect(upgrade.stdout.contains("upgraded from version 0"))
            #expect(
                try await db.run {
                    try $0.query("SELECT to_regclass('podio.items_app_last_edit_idx') IS NOT NULL AS ok")
                        .first?.bool("ok")
                } == true)
            db.close()
            await database.drop()
        }
    }

    @Test func appsSyncResyncStatusViews() async throws {
        try await EngineHarness.with(apps: Self.apps, slots: TestSlots.scenario) { h in
            let env = h.environment
            let apps = try await run(["apps"], env)
            #expect(apps.status == 0, "\(apps.stderr)")
            #expect(apps.stdout.contains("Projects") && apps.stdout.contains("Leads & Clients"))
            let sync = try await run(["sync", "--json"], env)
            #expect(sync.status == 0, "\(sync.stderr)")
            let summary = try JSONSerialization.jsonObject(with: Data(sync.stdout.utf8)) as? [String: Any]
            #expect(summary?["status"] as? String == "succeeded")
            #expect((summary?["apps"] as? [Any])?.count == 2)
            let resync = try await run(["resync", "--summary", "--app", String(h.simulator.appIDs()[1])], env)
            #expect(resync.status == 0)
            #expect(
                resync.stdout.hasPrefix("resync succeeded: 1 app, 30 items seen, 0 written, 30 unchanged, 0 deleted"))
            let status = try await run(["status"], env)
            #expect(status.status == 0)
            #expect(status.stdout.contains("Projects: 120 items, 0 deleted"))
            #expect(status.stdout.contains("rate_limited"))
            #expect(status.stdout.contains("resync succeeded"))
            let statusJSON = try await run(["status", "--json"], env)
            #expect(
                (try JSONSerialization.jsonObject(with: Data(statusJSON.stdout.utf8)) as? [String: Any])?["apps"] != nil
            )
            let tables = try await run(["tables"], env)
            #expect(tables.status == 0)
            #expect(tables.stdout.contains("podio_apps.projects") && tables.stdout.contains("podio_apps.leads_clients"))
            #expect(tables.stdout.contains(" 0 changed"))
            #expect(try await run(["views"], env).status == 0)  // the first version's name still works
            let appsJSON = try await run(["apps", "--json"], env)
            let rows = try JSONSerialization.jsonObject(with: Data(appsJSON.stdout.utf8)) as? [[String: Any]]
            #expect(rows?.allSatisfy { $0["mirrored"] as? Bool == true } == true)

            // Failure paths.
            // (Stored tokens stay valid whatever the secret: forget them, and the last grant's
            // time that would hold a new grant back for minutes, so a new grant is needed.)
            _ = try await h.db.run {
                try $0.execute("DELETE FROM podio_auth.oauth_tokens; DELETE FROM podio_auth.token_requests")
            }
            var wrongSecret = env
            wrongSecret["PODIO_CLIENT_SECRET"] = "not-the-secret"
            let refused = try await run(["apps"], wrongSecret)
            #expect(refused.status == 77)
            expectOneLine(refused, contains: "Podio refused the credentials")
            #expect(!refused.stderr.contains("not-the-secret"))
            let unknown = try await run(["sync", "--app", "999999"], env)
            #expect(unknown.status == 64)
            expectOneLine(unknown, contains: "app 999999 is not visible")
            let badWait = try await run(["resync", "--max-wait", "soon"], env)
            #expect(badWait.status == 64)
            #expect(badWait.stderr.contains("--max-wait"))
        }
    }

    @Test func statusAndViewsOnAnEmptyDatabaseSayToMigrate() async throws {
        try await TestSlots.with(weight: TestSlots.scenario) {
            let database = try await TestDatabase.create(prefix: "cmd")
            var env = ProcessInfo.processInfo.environment
            env["DATABASE_URL"] = database.url
            for command in ["status", "views"] {
                let outcome = try await run([command], env)
                #expect(outcome.status == 64)
                expectOneLine(outcome, contains: "run `podio-mirror migrate` first")
            }
            await database.drop()
        }
    }

    @Test func loginStoresTokensThatSyncUses() async throws {
        try await EngineHarness.with(apps: [Self.apps[1]], slots: TestSlots.scenario) { h in
            var env = h.environment
            env["PODIO_USERNAME"] = nil
            env["PODIO_PASSWORD"] = nil
            let port = Int.random(in: 30_000...60_000)
            let redirect = "http://127.0.0.1:\(port)/callback"
            let out = Pipe(), err = Pipe()
            let process = try ProcessRunner.start(
                Self.binary, ["login", "--redirect-uri", redirect, "--timeout", "60s"], environment: env, stdout: out,
                stderr: err)
            // Read until the authorize URL is printed.
            var printed = ""
            let deadline = Date().addingTimeInterval(30)
            while !printed.contains("/oauth/authorize?"), Date() < deadline {
                printed += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            }
            let line = try #require(printed.split(separator: "\n").first { $0.contains("/oauth/authorize?") })
            // Act as the browser: a forged redirect (wrong state) is refused; the real one is accepted.
            let browser = AsyncHTTPClientTransport(connectTimeout: 5, readTimeout: 10)
            let forged = try await browser.send(
                TransportRequest(method: "GET", url: "\(redirect)?code=forged&state=wrong", timeout: 10))
            #expect(forged.status == 400)
            let approval = try await browser.send(TransportRequest(method: "GET", url: String(line), timeout: 10))
            #expect(approval.status == 302)
            let location = try #require(approval.header("Location"))
            #expect(location.hasPrefix(redirect))
            let callback = try await browser.send(TransportRequest(method: "GET", url: location, timeout: 10))
            #expect(callback.status == 200)
            try await browser.shutdown()
            process.waitUntilExit()
            let stdout = printed + String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(
                process.terminationStatus == 0,
                "\(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
            #expect(stdout.contains("logged in"))
            #expect(
                try await h.count(
                    "SELECT count(*) FROM podio_auth.oauth_tokens WHERE credential = 'user:podio-mirror-dev:login'")
                    == 1)
            // Without username and password, sync uses the stored tokens.
            let sync = try await run(["sync"], env)
            #expect(sync.status == 0, "\(sync.stderr)")
            #expect(h.simulator.stats().tokenGrants["password"] == nil)

            // Failures: a redirect URI that is not loopback; no redirect within the timeout.
            let remote = try await run(["login", "--redirect-uri", "https://example.com/cb"], env)
            #expect(remote.status == 64)
            expectOneLine(remote, contains: "loopback")
            let silent = try await run(
                ["login", "--redirect-uri", "http://127.0.0.1:\(port + 1)/cb", "--timeout", "1s"], env)
            #expect(silent.status == 1)
            #expect(silent.stderr.contains("no redirect arrived"))
        }
    }

    @Test func runSchedulesSyncsAndStopsOnSIGTERM() async throws {
        try await EngineHarness.with(apps: [Self.apps[1]], slots: TestSlots.scenario) { h in
            let out = Pipe(), err = Pipe()
            let process = try ProcessRunner.start(
                Self.binary, ["run", "--every", "1s"], environment: h.environment, stdout: out, stderr: err)
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'succeeded'") >= 2 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'succeeded'") >= 2)
            process.terminate()  // SIGTERM
            process.waitUntilExit()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 0, "\(stderr)")
            #expect(stderr.contains("sync succeeded"))
            #expect(stderr.contains("scheduler stopped"))
            let bad = try await run(["run", "--every", "often"], h.environment)
            #expect(bad.status == 64)
        }
    }
}
