import Foundation
import LibPQ
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

/// `podio-mirror check` through the real binary, against the simulator over HTTP and a real
/// PostgreSQL: every line of a healthy setup, each failure's exit code and fix, the database not
/// migrated yet, the JSON, the Podio calls counted on the simulator's side against the announced
/// number, the hook URL against a live `run --listen`, another server and a dead port, and
/// `--podio-quirks` reading the simulator's configured quirks.
@Suite("check (the real binary)")
struct CheckCommandTests {
    static let apps = [
        PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 30, fields: .simple),
        PodioSimulator.AppSpec(name: "Tasks", urlLabel: "tasks", itemCount: 10, fields: .simple),
    ]

    /// The simulator enforces Podio's quota (so its answers carry real rate-limit headers).
    static func options(migrate: Bool = true, apps: [PodioSimulator.AppSpec] = apps) -> CLIHarness.Options {
        var options = CLIHarness.Options()
        options.apps = apps
        options.simulatorLimits = (250, 1000, 3600)
        options.migrate = migrate
        return options
    }

    /// The environment naming the simulator's apps (so that the set of apps is fixed).
    static func appsEnv(_ h: CLIHarness) -> [String: String?] {
        ["PODIO_APPS": h.simulator.appIDs().map(String.init).joined(separator: ",")]
    }

    /// The calls the simulator served (every tier), and the token grants it made.
    static func served(_ h: CLIHarness) -> (calls: Int, grants: Int, rateLimitErrors: Int) {
        let stats = h.simulator.stats()
        return (
            stats.callsByTier.values.reduce(0, +), stats.tokenGrants.values.reduce(0, +), stats.rateLimitErrors
        )
    }

    struct Report: Decodable {
        struct Line: Decodable {
            var check: String
            var status: String
            var message: String
            var fix: String?
            var exitCode: Int32?
        }
        struct Tier: Decodable {
            var endpoint: String
            var limit: Int?
            var tier: String?
        }
        struct Quirk: Decodable {
            var question: String
            var answer: String
            var evidence: String
        }
        var lines: [Line]
        var tiers: [Tier]
        var quirks: [Quirk]?
        var callsAnnounced: Int
        var callsSpent: Int
        var tokenGrants: Int
        var exitCode: Int32

        func quirk(_ question: String) -> String? { quirks?.first { $0.question == question }?.answer }
    }

    static func decode(_ outcome: RunOutcome) throws -> Report {
        try JSONDecoder().decode(Report.self, from: Data(outcome.stdout.utf8))
    }

    static func lines(_ outcome: RunOutcome, _ check: String) -> [String] {
        outcome.stdout.split(separator: "\n").map(String.init).filter { $0.dropFirst(8).hasPrefix(check + ":") }
    }

    @Test func aHealthySetupPassesEveryCheckWithinTheAnnouncedCalls() async throws {
        try await CLIHarness.with(Self.options()) { h in
            h.simulator.resetStats()
            let outcome = try await h.run(["check"], env: Self.appsEnv(h))
            #expect(outcome.status == 0, "\(outcome.printed)")
            let out = outcome.stdout
            #expect(Self.lines(outcome, "database").first?.hasPrefix("OK      database: PostgreSQL ") == true, "\(out)")
            #expect(Self.lines(outcome, "database privileges").first?.hasPrefix("OK") == true, "\(out)")
            #expect(Self.lines(outcome, "schema").first?.contains("current") == true, "\(out)")
            #expect(
                Self.lines(outcome, "credentials").first?.contains("password flow (PODIO_USERNAME demo@example.com)")
                    == true, "\(out)")
            let tiers = Self.lines(outcome, "tier")
            #expect(tiers.contains { $0.contains("GET /org/: general (X-Rate-Limit-Limit 1000)") }, "\(out)")
            #expect(
                tiers.contains {
                    $0.contains("POST /item/app/{app_id}/filter/: rate_limited (X-Rate-Limit-Limit 250)")
                },
                "\(out)")
            #expect(tiers.contains { $0.contains("GET /item/app/{app_id}/count: rate_limited") }, "\(out)")
            #expect(tiers.contains { $0.contains("GET /item/{item_id}: general") }, "\(out)")
            let quota = Self.lines(outcome, "quota")
            #expect(quota.contains { $0.contains("rate_limited: Podio says") && $0.contains("of 250 left") }, "\(out)")
            #expect(quota.contains { $0.contains("the quota ledger counts") }, "\(out)")
            #expect(
                Self.lines(outcome, "estimate").first?.contains("40 items in 2 apps: ~2 rate-limited calls") == true,
                "\(out)")
            #expect(!out.contains("FAIL"), "\(out)")
            // The plan comes before any line that needed a call.
            let all = out.split(separator: "\n").map(String.init)
            let plan = try #require(all.firstIndex { $0.dropFirst(8).hasPrefix("plan:") }, "\(out)")
            let firstCall = try #require(all.firstIndex { $0.dropFirst(8).hasPrefix("credentials:") }, "\(out)")
            #expect(plan < firstCall)
            // Spent calls: what the simulator served, at most what was announced, all in the ledger.
            let announced = try #require(
                all[plan].firstMatch(of: /at most (\d+) API calls/).flatMap { Int($0.output.1) }, "\(out)")
            let served = Self.served(h)
            #expect(served.calls > 0 && served.calls <= announced, "served \(served.calls), announced \(announced)")
            #expect(served.grants == 1)
            #expect(served.rateLimitErrors == 0)
            #expect(out.contains("Podio: \(served.calls) API calls spent"), "\(out)")
            #expect(try await h.count("SELECT count(*) FROM podio.api_calls") == served.calls)
            try await h.expectNoSecretsLeaked()
        }
    }

    @Test func theJSONCarriesEveryLineTheTiersAndTheCallsSpent() async throws {
        try await CLIHarness.with(Self.options()) { h in
            h.simulator.resetStats()
            let outcome = try await h.run(["check", "--json"], env: Self.appsEnv(h))
            #expect(outcome.status == 0, "\(outcome.printed)")
            let report = try Self.decode(outcome)
            let checks = Set(report.lines.map(\.check))
            for check in [
                "database", "database privileges", "schema", "plan", "credentials", "tier", "quota", "estimate",
            ] {
                #expect(checks.contains(check), "\(check) missing: \(outcome.stdout)")
            }
            #expect(report.lines.allSatisfy { ["ok", "note", "warning"].contains($0.status) }, "\(outcome.stdout)")
            #expect(report.tiers.first { $0.endpoint == "GET /item/app/{app_id}/count" }?.tier == "rate_limited")
            #expect(report.tiers.first { $0.endpoint == "GET /app/{app_id}" }?.limit == 1000)
            let served = Self.served(h)
            #expect(report.callsSpent == served.calls)
            #expect(report.callsSpent <= report.callsAnnounced && report.callsAnnounced <= 10)
            #expect(report.tokenGrants == served.grants)
            #expect(report.quirks == nil)
            #expect(report.exitCode == 0)
        }
    }

    @Test func refusedCredentialsExit77WithAFixAndNoSecret() async throws {
        try await CLIHarness.with(Self.options()) { h in
            let wrong = "wrong-password-\(UUID().uuidString.prefix(8))"
            h.simulator.resetStats()
            let outcome = try await h.run(["check"], env: Self.appsEnv(h).merging(["PODIO_PASSWORD": wrong]) { $1 })
            #expect(outcome.status == 77, "\(outcome.printed)")
            let line = try #require(Self.lines(outcome, "credentials").first, "\(outcome.printed)")
            #expect(line.hasPrefix("FAIL    credentials: password flow"), "\(line)")
            #expect(line.contains("— fix: check PODIO_CLIENT_ID and PODIO_CLIENT_SECRET"), "\(line)")
            // The database checks still ran and passed; no API call was made.
            #expect(Self.lines(outcome, "database").first?.hasPrefix("OK") == true, "\(outcome.printed)")
            #expect(Self.served(h).calls == 0)
            #expect(outcome.stdout.contains("(exit 77)"), "\(outcome.printed)")
            try await h.expectNoSecretsLeaked(extra: [wrong])
        }
    }

    @Test func appAuthenticationAndTheAuthorizationCodeFlowAreNamed() async throws {
        try await CLIHarness.with(Self.options()) { h in
            let ids = h.simulator.appIDs()
            let pairs = try ids.map { "\($0):\(try #require(h.simulator.appToken(appID: $0)))" }
            let apps = try await h.run(
                ["check"],
                env: ["PODIO_USERNAME": nil, "PODIO_PASSWORD": nil, "PODIO_APP_AUTH": pairs.joined(separator: ",")])
            #expect(apps.status == 0, "\(apps.printed)")
            let credentials = Self.lines(apps, "credentials")
            #expect(credentials.count == 2, "\(apps.printed)")
            for id in ids {
                #expect(
                    credentials.contains {
                        $0.hasPrefix("OK") && $0.contains("app authentication (PODIO_APP_AUTH app \(id))")
                    },
                    "\(apps.printed)")
            }
            // An app token cannot list organizations: the apps are those of PODIO_APP_AUTH.
            #expect(!apps.stdout.contains("GET /org/"), "\(apps.printed)")
            #expect(Self.lines(apps, "estimate").first?.contains("40 items in 2 apps") == true, "\(apps.printed)")

            // No credentials at all: the authorization-code flow, with no token stored by `login`.
            let stored = try await h.run(["check"], env: ["PODIO_USERNAME": nil, "PODIO_PASSWORD": nil])
            #expect(stored.status == 64, "\(stored.printed)")
            let line = try #require(Self.lines(stored, "credentials").first, "\(stored.printed)")
            #expect(line.hasPrefix("FAIL    credentials: authorization-code flow"), "\(line)")
            #expect(line.contains("podio-mirror login"), "\(line)")
            try await h.expectNoSecretsLeaked()
        }
    }

    @Test func anUnreachableDatabaseExits69AndPodioIsStillChecked() async throws {
        try await CLIHarness.with(Self.options()) { h in
            let port = try FairSchedulingCLITests.freePort()
            h.simulator.resetStats()
            let outcome = try await h.run(
                ["check"],
                env: Self.appsEnv(h).merging([
                    "DATABASE_URL": "postgresql://postgres@127.0.0.1:\(port)/postgres?connect_timeout=5"
                ]) { $1 })
            #expect(outcome.status == 69, "\(outcome.printed)")
            let line = try #require(Self.lines(outcome, "database").first, "\(outcome.printed)")
            #expect(line.hasPrefix("FAIL    database: PostgreSQL is not reachable"), "\(line)")
            #expect(line.contains("— fix: check DATABASE_URL"), "\(line)")
            #expect(Self.lines(outcome, "credentials").first?.hasPrefix("OK") == true, "\(outcome.printed)")
            #expect(outcome.stdout.contains("no quota ledger yet"), "\(outcome.printed)")
            #expect(Self.lines(outcome, "tier").count >= 4, "\(outcome.printed)")
            #expect(Self.served(h).calls <= 10)
        }
    }

    @Test func aDatabaseNotMigratedYetIsANextStepNotAFailure() async throws {
        try await CLIHarness.with(Self.options(migrate: false)) { h in
            h.simulator.resetStats()
            let outcome = try await h.run(["check", "--json"], env: Self.appsEnv(h))
            #expect(outcome.status == 0, "\(outcome.printed)")
            let report = try Self.decode(outcome)
            let schema = try #require(report.lines.first { $0.check == "schema" }, "\(outcome.stdout)")
            #expect(schema.status == "note")
            #expect(schema.fix == "run `podio-mirror migrate`")
            #expect(report.lines.first { $0.check == "database privileges" }?.status == "ok")
            #expect(report.lines.first { $0.check == "plan" }?.message.contains("no quota ledger yet") == true)
            #expect(report.callsSpent == Self.served(h).calls && report.callsSpent <= report.callsAnnounced)
            // check wrote nothing: still no schema.
            #expect(try await h.scalar("SELECT to_regnamespace('podio') IS NULL") == "t")
            let text = try await h.run(["check"], env: Self.appsEnv(h))
            #expect(text.status == 0, "\(text.printed)")
            #expect(
                Self.lines(text, "schema").first
                    == "NOTE    schema: no podio-mirror schema yet (a new database) — next: run `podio-mirror migrate`",
                "\(text.printed)")
        }
    }

    /// A bad setting fails (64); a quota set above Podio's is a warning, since the ledger keeps to
    /// Podio's limit (docs/quota.md), with the setting that would show it.
    @Test func aBadSettingExits64AndAQuotaAbovePodiosIsAWarning() async throws {
        try await CLIHarness.with(Self.options(migrate: false)) { h in
            let bad = try await h.run(["check"], env: Self.appsEnv(h).merging(["PODIO_RATE_LIMIT": "lots"]) { $1 })
            #expect(bad.status == 64, "\(bad.printed)")
            #expect(
                bad.stdout.hasPrefix("FAIL    configuration: PODIO_RATE_LIMIT must be a whole number"), "\(bad.printed)"
            )
            h.simulator.resetStats()
            let above = try await h.run(["check"], env: Self.appsEnv(h).merging(["PODIO_RATE_LIMIT": "300"]) { $1 })
            #expect(above.status == 0, "\(above.printed)")
            #expect(Self.served(h).calls > 0)
            let quota = Self.lines(above, "quota").filter { $0.hasPrefix("WARNING") }
            #expect(quota.count == 1, "\(above.printed)")
            #expect(
                quota.first?.contains(
                    "PODIO_RATE_LIMIT is 300, more than Podio allows (the ledger keeps to 250) — next: set PODIO_RATE_LIMIT=250"
                ) == true, "\(above.printed)")
            // The estimate counts on what the ledger will allow: Podio's 250 (the tests' reserve
            // is 0), not the configured 300.
            let estimate = Self.lines(above, "estimate")
            #expect(estimate.first?.contains("the quota allows 250 per") == true, "\(above.printed)")
        }
    }

    @Test func withoutALedgerTheCheckStopsWhenPodioSaysLittleIsLeft() async throws {
        var options = Self.options(migrate: false)
        options.simulatorLimits = (6, 1000, 3600)
        options.quota = (6, 1000, 3600)
        try await CLIHarness.with(options) { h in
            h.simulator.resetStats()
            let outcome = try await h.run(["check"], env: Self.appsEnv(h))
            #expect(outcome.status == 0, "\(outcome.printed)")
            #expect(outcome.stdout.contains("stopped before"), "\(outcome.printed)")
            #expect(outcome.stdout.contains("calls are left this hour"), "\(outcome.printed)")
            let stats = h.simulator.stats()
            // 6 an hour, and the check stops below 5 left: two rate-limited calls at most, no 420.
            #expect((stats.callsByTier["rate_limited"] ?? 0) <= 2, "\(stats.callsByTier)")
            #expect(stats.rateLimitErrors == 0)
        }
    }

    @Test func aRoleWithoutCreateIsRefusedWithTheGrantToRun() async throws {
        try await CLIHarness.with(Self.options(migrate: false)) { h in
            let role = "check_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).lowercased())"
            try await h.db.run { _ = try $0.execute("CREATE ROLE \(role) LOGIN") }
            var url = try #require(URLComponents(string: h.database.url))
            if var items = url.queryItems, items.contains(where: { $0.name == "user" }) {
                items.removeAll { $0.name == "user" }
                items.append(URLQueryItem(name: "user", value: role))
                url.queryItems = items
            } else {
                url.user = role
            }
            let outcome = try await h.run(
                ["check"], env: Self.appsEnv(h).merging(["DATABASE_URL": url.string ?? ""]) { $1 })
            #expect(outcome.status == 77, "\(outcome.printed)")
            let line = try #require(Self.lines(outcome, "database privileges").first, "\(outcome.printed)")
            #expect(line.hasPrefix("FAIL    database privileges: \(role) lacks what migrate needs"), "\(line)")
            #expect(line.contains("GRANT CREATE ON DATABASE"), "\(line)")
            _ = try? await h.db.run { try $0.execute("DROP ROLE IF EXISTS \(role)") }
        }
    }

    @Test func theHookURLReachesALiveReceiverAndNotADeadPortOrAnotherServer() async throws {
        try await CLIHarness.with(Self.options()) { h in
            let (worker, url) = try await HookEndToEndTests.startWorker(h)
            let live = try await h.run(["check", "--hook-url", url], env: Self.appsEnv(h))
            // Anything but a valid probe at the probe's path is answered as an unknown path.
            let http = AsyncHTTPClientTransport(readTimeout: 10)
            var wrong: [Int] = []
            for body in ["type=podio-mirror.check&nonce=xyz", "type=item.update&hook_id=1&item_id=2"] {
                let response = try? await http.send(
                    TransportRequest(
                        method: "POST", url: url + "/hooks/podio-mirror-check",
                        headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(body.utf8),
                        timeout: 10))
                wrong.append(response?.status ?? 0)
            }
            try? await http.shutdown()
            #expect(wrong == [404, 404])
            worker.terminate()
            _ = await h.finish(worker)
            #expect(live.status == 0, "\(live.printed)")
            let line = try #require(Self.lines(live, "hook url").first, "\(live.printed)")
            #expect(line.contains("reaches the receiver of `run --listen`"), "\(line)")
            // Loopback: reached, but Podio could not reach it.
            #expect(line.hasPrefix("WARNING hook url:") && line.contains("Podio cannot reach it"), "\(line)")
            // The probe queued no event.
            #expect(try await h.count("SELECT count(*) FROM podio.hook_events") == 0)

            let port = try FairSchedulingCLITests.freePort()
            let dead = try await h.run(["check", "--hook-url", "http://127.0.0.1:\(port)"], env: Self.appsEnv(h))
            #expect(dead.status == 69, "\(dead.printed)")
            #expect(
                Self.lines(dead, "hook url").first?.hasPrefix("FAIL    hook url: no answer from http://127.0.0.1:")
                    == true, "\(dead.printed)")

            let other = try await h.run(["check", "--hook-url", h.simulator.baseURL], env: Self.appsEnv(h))
            #expect(other.status == 69, "\(other.printed)")
            #expect(
                Self.lines(other, "hook url").first?.contains("not as the receiver of `podio-mirror run --listen`")
                    == true, "\(other.printed)")
        }
    }

    @Test func podioQuirksMeasureTheSimulatorsConfigurationWithin20Calls() async throws {
        let apps = [PodioSimulator.AppSpec(name: "Big", urlLabel: "big", itemCount: 600, fields: .simple)]
        try await CLIHarness.with(Self.options(apps: apps)) { h in
            let appID = h.simulator.appIDs()[0]
            // The first item by id gets three comments (whatever it had).
            let first = try #require(try await h.itemIDs(app: appID).first)
            for _ in 0..<3 { _ = try h.simulator.comment(itemID: first) }
            h.simulator.resetStats()
            let plain = try await h.run(["check", "--json"], env: Self.appsEnv(h))
            #expect(plain.status == 0, "\(plain.printed)")
            let baseline = try Self.decode(plain).callsSpent

            h.simulator.setQuirks(PodioSimulator.Quirks(pageCap: 200, commentsIgnoreOffset: true))
            h.simulator.resetStats()
            let quirky = try await h.run(["check", "--json", "--podio-quirks"], env: Self.appsEnv(h))
            #expect(quirky.status == 0, "\(quirky.printed)")
            let report = try Self.decode(quirky)
            #expect(report.callsSpent == Self.served(h).calls)
            #expect(report.callsSpent - baseline <= 20, "quirks spent \(report.callsSpent - baseline)")
            #expect(report.callsSpent <= report.callsAnnounced)
            #expect(report.quirk("items a filter page serves with limit=500") == "200 (fewer than asked)")
            #expect(report.quirk("`offset` pages an item's comments") == "no: offset is ignored")
            #expect(report.quirk("tier of GET /org/") == "general")
            #expect(report.quirk("tier of GET /app/space/{space_id}/") == "rate_limited")
            #expect(report.quirk("tier of GET /comment/item/{item_id}/") == "general")

            h.simulator.setQuirks(PodioSimulator.Quirks())
            let text = try await h.run(["check", "--podio-quirks"], env: Self.appsEnv(h))
            #expect(text.status == 0, "\(text.printed)")
            #expect(
                text.stdout.contains("| items a filter page serves with limit=500 | 500 (as asked) |"), "\(text.stdout)"
            )
            #expect(text.stdout.contains("| `offset` pages an item's comments | yes |"), "\(text.stdout)")
            #expect(text.stdout.contains("| a page with limit=500 serves every comment | yes |"), "\(text.stdout)")
            try await h.expectNoSecretsLeaked()
        }
    }
}
