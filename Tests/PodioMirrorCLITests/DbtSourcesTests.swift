import Foundation
import LibPQ
import TestSupport
import Testing

/// `podio-mirror dbt-sources` read by the real dbt: `dbt parse` accepts the YAML, the manifest
/// holds Podio's names exactly as the catalogue does (quotes, backslashes, control characters,
/// Jinja-like braces, any script), and `dbt source freshness` passes after a sync and fails once
/// the mirror is older than the thresholds. dbt-postgres is installed once into a cached venv;
/// without PyPI the test is skipped.
@Suite("dbt sources")
struct DbtSourcesTests {
    @Test(
        .enabled(
            "needs dbt-postgres: not in the cached venv, and pip could not install it (no PyPI?): see docs/dbt.md"
        ) { await DbtInstall.shared.dbt() != nil })
    func dbtParsesTheSourcesAndChecksFreshness() async throws {
        let dbt = try #require(await DbtInstall.shared.dbt())
        try await CLIHarness.with(CLIHarness.Options(items: 20)) { h in
            let truth = try JSONSerialization.jsonObject(with: h.simulator.truth()) as? [String: Any]
            let apps = truth?["apps"] as? [[String: Any]] ?? []
            let hostile = try #require(apps.first { $0["url_label"] as? String == "ops-q1" }?["app_id"] as? Int)
            // A label Jinja would read as a tag, unless escaped.
            try h.simulator.addField(appID: hostile, type: "text", label: "Price {{ net }} {% if %} {# c #}: \"x\"")
            try await h.sync()

            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pm-dbt-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("models"), withIntermediateDirectories: true)
            let sources = dir.appendingPathComponent("models/sources.yml").path
            let generated = try await h.run(["dbt-sources", "--output", sources, "--every", "15m"])
            #expect(generated.status == 0, "\(generated.printed)")
            try DbtInstall.writeProject(dir, databaseURL: h.database.url)

            let parse = try await DbtInstall.run(dbt, ["parse"], in: dir)
            try #require(parse.status == 0, "dbt parse: \(parse.stdout)\n\(parse.stderr)")

            // What dbt read equals what the catalogue says, for every app table and column.
            let manifestData = try Data(contentsOf: dir.appendingPathComponent("target/manifest.json"))
            let manifest = try #require(try JSONSerialization.jsonObject(with: manifestData) as? [String: Any])
            let nodes = try #require(manifest["sources"] as? [String: [String: Any]])
            let catalogue = try await h.rows(
                """
                SELECT c.relname, coalesce(obj_description(c.oid, 'pg_class'), '') AS table_comment, a.attname,
                       coalesce(col_description(c.oid, a.attnum), '') AS comment
                FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace AND n.nspname = 'podio_apps'
                JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                WHERE c.relkind = 'r' AND col_description(c.oid, a.attnum) IS NOT NULL
                """)
            #expect(catalogue.count > 40)
            var byTable: [String: [String: Any]] = [:]
            for node in nodes.values where node["source_name"] as? String == "podio_apps" {
                if let name = node["name"] as? String { byTable[name] = node }
            }
            var checked = 0
            for row in catalogue {
                let table = row.string("relname") ?? "", column = row.string("attname") ?? ""
                let node = try #require(byTable[table], "no source for \(table)")
                #expect(node["description"] as? String == row.string("table_comment"))
                let columns = node["columns"] as? [String: [String: Any]] ?? [:]
                #expect(columns[column]?["description"] as? String == row.string("comment"), "\(table).\(column)")
                checked += 1
            }
            #expect(checked == catalogue.count)
            let jinja = catalogue.compactMap { $0.string("comment") }.filter { $0.contains("{{ net }}") }
            #expect(jinja.count == 1)

            // Fresh after the sync; an error once the last pass is older than 6 intervals (90 min).
            let fresh = try await DbtInstall.run(dbt, ["source", "freshness"], in: dir)
            #expect(fresh.status == 0, "dbt source freshness: \(fresh.stdout)\n\(fresh.stderr)")
            _ = try await h.db.run {
                try $0.execute(
                    """
                    UPDATE podio.sync_state SET last_delta_sync_at = now() - interval '3 hours',
                        last_full_sync_at = now() - interval '3 hours'
                    """)
            }
            let stale = try await DbtInstall.run(dbt, ["source", "freshness"], in: dir)
            #expect(stale.status != 0, "dbt source freshness: \(stale.stdout)")
            #expect(stale.stdout.contains("ERROR STALE"), "\(stale.stdout)")
        }
    }
}

/// dbt-postgres in a virtual environment cached between runs (`PODIO_MIRROR_DBT_VENV`, else
/// ~/.cache/podio-mirror/dbt-venv), installed with pip at most once per test process.
actor DbtInstall {
    static let shared = DbtInstall()
    private var attempted = false
    private var found: URL?

    var venv: URL {
        if let path = ProcessInfo.processInfo.environment["PODIO_MIRROR_DBT_VENV"] {
            return URL(fileURLWithPath: path)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/podio-mirror/dbt-venv")
    }

    /// The `dbt` executable, installed when missing; nil when it cannot be (no PyPI).
    func dbt() async -> URL? {
        let dbt = venv.appendingPathComponent("bin/dbt")
        if FileManager.default.isExecutableFile(atPath: dbt.path) { return dbt }
        guard !attempted else { return found }
        attempted = true
        let pip = venv.appendingPathComponent("bin/pip")
        if !FileManager.default.isExecutableFile(atPath: pip.path) {
            guard
                let made = try? await ProcessRunner.run(
                    URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-m", "venv", venv.path],
                    environment: ProcessInfo.processInfo.environment, timeout: 120), made.status == 0
            else { return nil }
        }
        // dbt-core 1.12 needs a parser wheel downloaded from GitHub at build time: 1.10 and 1.11
        // (loaded_at_query is 1.10's) install from PyPI alone.
        let install = try? await ProcessRunner.run(
            pip,
            ["install", "--quiet", "--timeout", "30", "--retries", "1", "dbt-core>=1.10,<1.12", "dbt-postgres"],
            environment: ProcessInfo.processInfo.environment, timeout: 900)
        guard install?.status == 0, FileManager.default.isExecutableFile(atPath: dbt.path) else { return nil }
        found = dbt
        return dbt
    }

    /// `dbt_project.yml` and `profiles.yml` for the mirror's database.
    static func writeProject(_ dir: URL, databaseURL: String) throws {
        let components = URLComponents(string: databaseURL)
        let query = Dictionary(
            (components?.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
        let environment = ProcessInfo.processInfo.environment
        let host =
            query["host"] ?? components?.host.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGHOST"]
            ?? "localhost"
        let port = query["port"] ?? components?.port.map(String.init) ?? environment["PGPORT"] ?? "5432"
        let user = query["user"] ?? components?.user ?? environment["PGUSER"] ?? "postgres"
        let password = query["password"] ?? components?.password ?? environment["PGPASSWORD"] ?? ""
        let database = String((components?.path ?? "").drop(while: { $0 == "/" }))
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        try """
        name: podio_mirror_check
        version: "1.0"
        config-version: 2
        profile: podio_mirror_check
        model-paths: ["models"]
        """.write(to: dir.appendingPathComponent("dbt_project.yml"), atomically: true, encoding: .utf8)
        try """
        podio_mirror_check:
          target: test
          outputs:
            test:
              type: postgres
              host: \(quoted(host))
              port: \(port)
              user: \(quoted(user))
              password: \(quoted(password))
              dbname: \(quoted(database))
              schema: public
              threads: 1
        """.write(to: dir.appendingPathComponent("profiles.yml"), atomically: true, encoding: .utf8)
    }

    static func run(_ dbt: URL, _ arguments: [String], in dir: URL) async throws -> ProcessRunner.Outcome {
        var environment = ProcessInfo.processInfo.environment
        environment["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
        environment["DO_NOT_TRACK"] = "1"
        environment["DBT_USE_COLORS"] = "false"
        return try await ProcessRunner.run(
            dbt, arguments + ["--project-dir", dir.path, "--profiles-dir", dir.path], environment: environment,
            timeout: 300)
    }
}
