import Foundation
import LibPQ
import PodioSimulator
import TestSupport
import Testing

/// Secrets never leave: not in output, logs, `status`, the runs' errors, nor the mirror tables;
/// the tokens in PostgreSQL are out of reach of a role that reads the mirror.
@Suite("Secrets")
struct SecretTests {
    static let databasePassword = "db-Pa55word-never-shown"

    /// A harness whose DATABASE_URL carries a password (the test server trusts local
    /// connections, so libpq never sends it, but podio-mirror must still never show it).
    static func withPasswordURL(_ options: CLIHarness.Options, _ body: (CLIHarness) async throws -> Void) async throws {
        let fresh = try await MirrorDatabase.fresh()
        let separator = fresh.url.contains("?") ? "&" : "?"
        let database = MirrorDatabase(url: fresh.url + "\(separator)password=\(databasePassword)", drop: fresh.drop)
        try await CLIHarness.with(options, database: database, body)
    }

    @Test(.tags(.slow)) func nothingPrintedStoredOrLoggedCarriesASecret() async throws {
        var options = CLIHarness.Options()
        options.apps = [
            PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 120),
            PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 30, fields: .simple),
        ]
        options.tokenTTL = 3
        try await Self.withPasswordURL(options) { h in
            let apps = h.simulator.appIDs()
            let appToken = try #require(h.simulator.appToken(appID: apps[1]))
            // Password flow with trace logs, through faults that put tokens and bodies in messages.
            h.simulator.injectFaults(.expireToken, count: 2)
            h.simulator.injectFaults(.serverError, count: 2)
            h.simulator.injectFaults(.truncatedJSON, count: 1)
            let first = try await h.run(["sync", "--log-level", "trace"])
            #expect(first.status == 0, "\(first.printed)")
            // The stored token expires, so the next run refreshes it: as if 3.1 s had passed, the
            // simulator's clock jumps and the stored expiry moves back by as much (no sleep).
            h.simulator.advanceClock(seconds: 3.1)
            try await h.db.run {
                _ = try $0.execute(
                    "UPDATE podio_auth.oauth_tokens SET expires_at = expires_at - interval '3.1 seconds'")
            }
            let second = try await h.run(["sync", "--log-level", "trace", "--log-format", "json"])
            #expect(second.status == 0, "\(second.printed)")
            // App flow for the second app, with a trace log.
            let appFlow = try await h.run(
                ["resync", "--app", String(apps[1]), "--log-level", "trace"],
                env: ["PODIO_USERNAME": nil, "PODIO_PASSWORD": nil, "PODIO_APP_AUTH": "\(apps[1]):\(appToken)"])
            #expect(appFlow.status == 0, "\(appFlow.printed)")
            // Failures whose messages could echo what they were given (stored tokens would
            // spare the runs a grant: they go first, noted for the check; so does the record of
            // the last grants, which would hold a new grant back for minutes).
            await h.noteTokens()
            try await h.db.run {
                _ = try $0.execute("DELETE FROM podio_auth.oauth_tokens; DELETE FROM podio_auth.token_requests")
            }
            let wrongToken = try await h.run(
                ["sync", "--app", String(apps[1]), "--log-level", "trace"],
                env: ["PODIO_USERNAME": nil, "PODIO_PASSWORD": nil, "PODIO_APP_AUTH": "\(apps[1]):\(appToken)x"])
            #expect(wrongToken.status == 77, "\(wrongToken.printed)")
            let wrongPassword = try await h.run(
                ["sync", "--log-level", "trace"], env: ["PODIO_PASSWORD": "hunter2-wrong-pw"])
            #expect(wrongPassword.status == 77, "\(wrongPassword.printed)")
            let wrongSecret = try await h.run(
                ["apps", "--log-level", "trace"], env: ["PODIO_CLIENT_SECRET": "wrong-secret-xyz"])
            #expect(wrongSecret.status == 77, "\(wrongSecret.printed)")
            let badURL = try await h.run(
                ["status"], env: ["DATABASE_URL": "postgresql://mirror:\(Self.databasePassword)@[broken/x"])
            #expect(badURL.status != 0, "\(badURL.printed)")
            let badKeyword = try await h.run(
                ["status"], env: ["DATABASE_URL": "host=/nowhere password='\(Self.databasePassword)' dbnmae=x"])
            #expect(badKeyword.status != 0, "\(badKeyword.printed)")
            for outcome in [
                try await h.run(["sync", "--log-level", "trace"]), try await h.run(["apps", "--count"]),
                try await h.run(["views"]),
            ] {
                #expect(outcome.status == 0, "\(outcome.printed)")
            }
            #expect(try await h.count("SELECT count(*) FROM podio_auth.oauth_tokens") >= 1)

            let extra = [Self.databasePassword, appToken + "x", "hunter2-wrong-pw", "wrong-secret-xyz"]
            try await h.expectNoSecretsLeaked(extra: extra)
            // Nor in any table of the mirror (app tokens come with GET /app and are dropped).
            let secrets = await h.secrets(extra: extra)
            let tables = try await h.rows(
                "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema IN ('podio', 'podio_apps')"
            ).compactMap { $0.string("t") }
            #expect(tables.count >= 10)
            for table in tables {
                let text =
                    try await h.scalar("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM \(table) AS t") ?? ""
                for secret in secrets where text.contains(secret) {
                    Issue.record("\(table) holds a secret (\(secret.prefix(3))…)")
                }
            }
        }
    }

    /// PostgreSQL's DETAIL can carry a refused row's values (`Failing row contains (…)`): the
    /// line printed and the run's recorded error name the constraint, not the data.
    @Test func rowValuesOfADatabaseErrorAreNeitherPrintedNorStored() async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 10, fields: .simple)]
        try await CLIHarness.with(options) { h in
            let marker = "Row-Value-Never-Printed-8123"
            try h.simulator.createItem(appID: h.simulator.appIDs()[0], title: marker)
            _ = try await h.db.run { db in
                try db.execute(
                    "ALTER TABLE podio.items ADD CONSTRAINT mirror_refuses_marker CHECK (title IS DISTINCT FROM '\(marker)')"
                )
            }
            for arguments in [["sync"], ["sync", "--log-format", "json"]] {
                let outcome = try await h.run(arguments)
                #expect(outcome.status == 70, "\(outcome.printed)")
                #expect(outcome.stderrLines.count == 1, "\(outcome.printed)")
                #expect(outcome.stderr.contains("violates check constraint"), "\(outcome.printed)")
                #expect(outcome.stderr.contains("mirror_refuses_marker"), "\(outcome.printed)")
                #expect(!outcome.stderr.contains(marker) && !outcome.stdout.contains(marker), "\(outcome.printed)")
                #expect(!outcome.stderr.contains("Failing row"), "\(outcome.printed)")
            }
            let errors = try await h.rows("SELECT status, error FROM podio.sync_runs ORDER BY run_id")
            #expect(errors.count == 2)
            for row in errors {
                #expect(row.string("status") == "failed")
                let error = row.string("error") ?? ""
                #expect(error.contains("mirror_refuses_marker"), "\(error)")
                #expect(!error.contains(marker) && !error.contains("Failing row"), "\(error)")
            }
            let status = try await h.run(["status", "--json"])
            #expect(!status.stdout.contains(marker), "\(status.printed)")
            try await h.expectNoSecretsLeaked()
        }
    }

    @Test func aRoleThatReadsTheMirrorCannotReadTheTokens() async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 10, fields: .simple)]
        try await CLIHarness.with(options) { h in
            try await h.sync()
            let role = "reader_" + UUID().uuidString.prefix(8).lowercased()
            try await h.db.run { db in
                try db.execute("CREATE ROLE \(role) NOLOGIN")
                try db.execute("GRANT USAGE ON SCHEMA podio, podio_apps TO \(role)")
                try db.execute("GRANT SELECT ON ALL TABLES IN SCHEMA podio, podio_apps TO \(role)")
                // docs/security.md: app tables created later are readable too.
                try db.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA podio, podio_apps GRANT SELECT ON TABLES TO \(role)")
            }
            let tables = try await h.run(["tables"])
            #expect(tables.status == 0, "\(tables.printed)")
            let view = try #require(try await h.scalar("SELECT table_name FROM podio.apps LIMIT 1"))
            do {
                let (items, tokens, schema) = try await h.db.run { db -> (Int?, PGError?, PGError?) in
                    try db.execute("SET ROLE \(role)")
                    defer { _ = try? db.execute("RESET ROLE") }
                    let items = try db.query("SELECT count(*) AS n FROM podio.items").first?.int("n")
                    let viewItems = try db.query("SELECT count(*) AS n FROM podio_apps.\"\(view)\"").first?.int("n")
                    guard viewItems == items else {
                        throw PGError(kind: .server, message: "the app table reads \(viewItems ?? -1) items")
                    }
                    var tokens: PGError?
                    do {
                        try db.query("SELECT access_token, refresh_token FROM podio_auth.oauth_tokens")
                    } catch let error as PGError {
                        tokens = error
                    }
                    var schema: PGError?
                    do {
                        try db.query("SELECT count(*) FROM podio_auth.oauth_tokens")
                    } catch let error as PGError {
                        schema = error
                    }
                    return (items, tokens, schema)
                }
                #expect(items == 10)
                #expect(tokens?.sqlState == "42501", "\(String(describing: tokens))")
                #expect(tokens?.message.contains("permission denied") == true)
                #expect(schema?.sqlState == "42501")
                // Even a grant on every table of podio_auth needs the schema, which PUBLIC lacks.
                #expect(try await h.count("SELECT count(*) FROM podio_auth.oauth_tokens") == 1)
                #expect(
                    try await h.scalar("SELECT has_schema_privilege($1, 'podio_auth', 'USAGE')", [role]) == "f")
                #expect(
                    try await h.scalar("SELECT has_table_privilege($1, 'podio_auth.oauth_tokens', 'SELECT')", [role])
                        == "f")
            } catch {
                try? await h.db.run { db in
                    try db.execute("DROP OWNED BY \(role)")
                    try db.execute("DROP ROLE \(role)")
                }
                throw error
            }
            try await h.db.run { db in
                try db.execute("DROP OWNED BY \(role)")
                try db.execute("DROP ROLE \(role)")
            }
        }
    }
}
