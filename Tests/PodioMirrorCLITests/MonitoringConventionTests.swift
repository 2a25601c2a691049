import Foundation
import PodioAPI
import PodioSimulator
import TestSupport
import Testing

/// `/metrics` and `--metrics-file` as a well-kept parser reads them (prometheus_client, through
/// scripts/check-metrics.py), the probes, and the dashboard and alert rules in deploy/ against
/// what a real run exports.
@Suite("Monitoring conventions")
struct MonitoringConventionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// One sample: its name, labels and value.
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// The families of the exposition `text` as prometheus_client parses it (name → type,
    /// samples); nil when the parser is missing and cannot be installed (the test says so).
    static func parse(_ text: String) async throws -> [String: (type: String, samples: [Sample])]? {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).prom")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        guard let json = try await script(["parse", file.path]) else { return nil }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let families = try #require(object["families"] as? [String: [String: Any]])
        var result: [String: (type: String, samples: [Sample])] = [:]
        for (name, family) in families {
            let samples = (family["samples"] as? [[Any]] ?? []).map { raw in
                Sample(
                    name: raw[0] as? String ?? "", labels: raw[1] as? [String: String] ?? [:],
                    value: (raw[2] as? NSNumber)?.doubleValue ?? .nan)
            }
            result[name] = (family["type"] as? String ?? "", samples)
        }
        return result
    }

    /// Runs scripts/check-metrics.py: its stdout, or nil when it must skip (exit 3).
    static func script(_ arguments: [String]) async throws -> String? {
        let outcome = try await ProcessRunner.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", root.appendingPathComponent("scripts/check-metrics.py").path] + arguments,
            environment: ProcessInfo.processInfo.environment, timeout: 180)
        if outcome.status == 3 {
            print("MonitoringConventionTests: skipped the parser check: \(outcome.stderr)")
            return nil
        }
        try #require(outcome.status == 0, "check-metrics.py \(arguments): \(outcome.stderr)")
        return outcome.stdout
    }

    /// `run` configured by variables alone (PODIO_RUN_EVERY, PODIO_LISTEN): the probes, and
    /// /metrics without personal data, with the conventional names, parsed by prometheus_client;
    /// every metric the dashboard and the alert rules use is one it exports.
    @Test func metricsProbesDashboardAndRules() async throws {
        var options = CLIHarness.Options()
        options.apps = Array(FairSchedulingCLITests.issueApps.prefix(2))
        try await CLIHarness.with(options) { h in
            let http = AsyncHTTPClientTransport(connectTimeout: 5, readTimeout: 10)
            defer { Task { try? await http.shutdown() } }
            let port = try FairSchedulingCLITests.freePort()
            let base = "http://127.0.0.1:\(port)"
            let worker = try h.start(
                ["run"], env: ["PODIO_RUN_EVERY": "1s", "PODIO_LISTEN": "127.0.0.1:\(port)"])
            let ran = try await h.waitUntil(timeout: 60, every: 50) {
                try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'succeeded'") >= 2
            }
            try #require(ran, "the scheduler ran no sync")
            let live = try await FairSchedulingCLITests.get(http, "\(base)/livez")
            #expect(live.status == 200 && live.body.hasPrefix("ok"), "\(live)")
            let ready = try await FairSchedulingCLITests.get(http, "\(base)/readyz")
            #expect(ready.status == 200 && ready.body.hasPrefix("ready"), "\(ready)")
            let health = try await FairSchedulingCLITests.get(http, "\(base)/healthz")
            #expect(health.status == 200, "\(health)")
            let scraped = try await FairSchedulingCLITests.get(http, "\(base)/metrics")
            #expect(scraped.status == 200)
            worker.terminate()
            let stopped = await h.finish(worker)
            #expect(stopped.status == 0, "\(stopped.printed)")
            h.record(scraped.body)

            // No personal data in any label: not the user, not the client id.
            for personal in [h.configuration.username, h.configuration.clientID] {
                #expect(!scraped.body.contains(personal), "\(personal) is in /metrics:\n\(scraped.body)")
            }
            guard let families = try await Self.parse(scraped.body) else { return }
            try Self.expectConventions(families, h: h)

            // The dashboard's and the rules' metrics are all exported (and the files parse).
            guard
                let used = try await Self.script([
                    "uses", Self.root.appendingPathComponent("deploy/grafana/podio-mirror.json").path,
                    Self.root.appendingPathComponent("deploy/prometheus/alerts.yml").path,
                ])
            else { return }
            let names = try #require(try JSONSerialization.jsonObject(with: Data(used.utf8)) as? [String])
            #expect(names.count >= 8, "\(names)")
            let exported = Set(families.values.flatMap { $0.samples.map(\.name) }).union(families.keys)
            for name in names {
                #expect(exported.contains(name), "the dashboard or the rules use \(name), which is not exported")
            }
        }
    }

    static func expectConventions(_ families: [String: (type: String, samples: [Sample])], h: CLIHarness) throws {
        let samples = families.values.flatMap(\.samples)
        func series(_ name: String) -> [Sample] { samples.filter { $0.name == name } }
        // Counters are counters (prometheus_client strips _total from a counter family's name).
        #expect(families["podio_mirror_api_calls"]?.type == "counter")
        #expect(families["podio_mirror_hooks_missed"]?.type == "counter", "\(families.keys.sorted())")
        #expect(families["podio_mirror_api_rate_limit_errors"] == nil, "the duplicate of api_calls_total{code=420}")
        let calls = series("podio_mirror_api_calls_total")
        #expect(!calls.isEmpty && calls.allSatisfy { $0.labels["code"] != nil && $0.labels["status"] == nil })
        let identities = Set(series("podio_mirror_quota_used_calls").compactMap { $0.labels["identity"] })
        #expect(
            !identities.isEmpty && identities.allSatisfy { $0.wholeMatch(of: /user-[0-9a-f]{8}/) != nil },
            "\(identities)")
        let build = try #require(series("podio_mirror_build_info").first)
        #expect(build.value == 1 && build.labels["version"]?.wholeMatch(of: /\d+\.\d+\.\d+/) != nil, "\(build)")
        let limits = series("podio_mirror_quota_limit_calls")
        #expect(limits.first { $0.labels["tier"] == "rate_limited" }?.value == 250, "\(limits)")
        #expect(limits.first { $0.labels["tier"] == "general" }?.value == 1000, "\(limits)")
        let lastSync = try #require(
            series("podio_mirror_last_success_timestamp_seconds").first { $0.labels["kind"] == "sync" })
        #expect(abs(lastSync.value - Date().timeIntervalSince1970) < 600, "\(lastSync)")
        let info = series("podio_mirror_app_info")
        #expect(Set(info.compactMap { $0.labels["name"] }) == ["Projects", "Leads"], "\(info)")
        #expect(info.allSatisfy { $0.labels["table"]?.isEmpty == false && $0.value == 1 }, "\(info)")
        let appIDs = Set(h.simulator.appIDs().map(String.init))
        let full = series("podio_mirror_app_last_success_timestamp_seconds").filter { $0.labels["mode"] == "full" }
        #expect(Set(full.compactMap { $0.labels["app_id"] }) == appIDs, "\(full)")
    }

    /// `sync --metrics-file` (and PODIO_METRICS_FILE): the file node_exporter's textfile
    /// collector reads, complete and parsed by prometheus_client, no temporary file left.
    @Test func syncWritesTheTextfile() async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 30, fields: .simple)]
        try await CLIHarness.with(options) { h in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "textfile-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("podio-mirror.prom").path
            let sync = try await h.run(["sync", "--metrics-file", path])
            #expect(sync.status == 0 && sync.stdout.isEmpty && sync.stderr.isEmpty, "\(sync.printed)")
            let first = try String(contentsOfFile: path, encoding: .utf8)
            h.record(first)
            #expect(first.contains(#"podio_mirror_runs_total{kind="sync",outcome="succeeded"} 1"#), "\(first)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["podio-mirror.prom"])
            // A failed run is written too, through the variable this time.
            _ = try await h.db.run {
                try $0.execute("DELETE FROM podio_auth.oauth_tokens; DELETE FROM podio_auth.token_requests")
            }
            let failed = try await h.run(
                ["sync"], env: ["PODIO_METRICS_FILE": path, "PODIO_CLIENT_SECRET": "not-the-secret"])
            #expect(failed.status == 77, "\(failed.printed)")
            let second = try String(contentsOfFile: path, encoding: .utf8)
            h.record(second)
            #expect(second.contains(#"podio_mirror_runs_total{kind="sync",outcome="failed"} 1"#), "\(second)")
            guard let families = try await Self.parse(first) else { return }
            let samples = families.values.flatMap(\.samples)
            #expect(samples.contains { $0.name == "podio_mirror_build_info" })
            #expect(
                samples.contains {
                    $0.name == "podio_mirror_last_success_timestamp_seconds" && $0.labels["kind"] == "sync"
                })
            #expect(samples.contains { $0.name == "podio_mirror_items_written_total" && $0.value == 30 })
            try await h.expectNoSecretsLeaked(extra: ["not-the-secret"])
        }
    }
}
