import ArgumentParser
import Foundation

/// `make bench-freshness`: how long a change in Podio takes to show in the app's table, under
/// Podio's real quota ratio, with the hour scaled down so the whole run takes minutes.
struct Freshness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "freshness",
        abstract:
            "Staleness of the mirror under a steady stream of changes: polling alone, then hooks with reconciliation.",
        discussion: """
            Every duration option is in real time; the bench runs them scaled by --window/3600 (the simulator's \
            rate window and the engine's PODIO_RATE_WINDOW, PODIO_APPS_REFRESH, PODIO_SWEEP_INTERVAL, \
            PODIO_RECONCILE_EVERY and run --every alike) and scales the figures back. Needs DATABASE_URL.
            """)

    @Option(help: "Apps mirrored.")
    var apps: Int = 50

    @Option(help: "Items per app at the start.")
    var itemsPerApp: Int = 20

    @Option(help: "Wall seconds that stand for Podio's one-hour rate window.")
    var window: Double = 36

    @Option(help: "run --every, real seconds.")
    var every: Double = 120

    @Option(help: "Changes (30 % creates, 50 % edits, 20 % deletes) per real hour, over all apps.")
    var changesPerHour: Double = 300

    @Option(help: "Real hours of the stream of changes.")
    var streamHours: Double = 2

    @Option(help: "Real hours the bench waits at most after the stream for the last changes to show.")
    var drainHours: Double = 1

    @Option(help: "PODIO_SWEEP_INTERVAL (deletion sweeps), real hours.")
    var sweepHours: Double = 24

    @Option(help: "PODIO_RECONCILE_EVERY (a delta for apps with active hooks), real hours.")
    var reconcileHours: Double = 1

    @Option(help: "Share of hook deliveries the simulator drops in the hooks mode.")
    var drop: Double = 0.2

    @Option(help: "Windows to wait after `hooks install` before the stream (its calls leave the quota).")
    var settleWindows: Double = 1

    @Option(help: "Milliseconds between two reads of the app tables (wall time).")
    var pollMs: Int = 50

    @Option(help: "polling, hooks or both.")
    var mode: String = "both"

    @Option(help: "The podio-mirror binary to run.")
    var mirror: String = ".build/release/podio-mirror"

    @Option(help: "Also write the figures as JSON to this path.")
    var json: String?

    @Option(help: "Seed of the dataset, the stream and the dropped deliveries.")
    var seed: UInt64 = 1

    func validate() throws {
        guard apps >= 1, itemsPerApp >= 1 else {
            throw ValidationError("--apps and --items-per-app must be at least 1")
        }
        guard window >= 10 else { throw ValidationError("--window must be at least 10 seconds") }
        guard every * window / 3600 >= 1 else {
            throw ValidationError(
                "--every scaled must be at least 1 s (podio-mirror run's minimum): raise --every or --window")
        }
        guard changesPerHour > 0, streamHours > 0, drainHours >= 0 else {
            throw ValidationError("the stream needs positive rates and hours")
        }
        guard (0...1).contains(drop) else { throw ValidationError("--drop must be 0…1") }
        guard ["polling", "hooks", "both"].contains(mode) else {
            throw ValidationError("--mode must be polling, hooks or both")
        }
        guard pollMs >= 5 else { throw ValidationError("--poll-ms must be at least 5") }
    }

    func run() async throws {
        guard let server = ProcessInfo.processInfo.environment["DATABASE_URL"], !server.isEmpty else {
            throw Bench.Failure(
                "DATABASE_URL is not set: run through `make bench-freshness` (scripts/with-postgres.sh)")
        }
        let binary = URL(fileURLWithPath: mirror).standardizedFileURL.path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw Bench.Failure("\(binary) is not built: run `swift build -c release` first")
        }
        let runner = FreshnessRun(options: self, serverURL: server, binary: binary)
        var report = FreshnessReport(
            apps: apps, itemsPerApp: itemsPerApp, windowSeconds: window, scale: runner.scale, everyRealSeconds: every,
            changesPerHour: changesPerHour, streamHours: streamHours, pollMilliseconds: pollMs)
        if mode != "hooks" {
            report.modes.append(try await runner.run(.polling))
        }
        if mode != "polling" {
            if try await hooksAvailable(binary) {
                report.modes.append(try await runner.run(.hooks))
            } else {
                report.modes.append(
                    FreshnessReport.Mode(name: "hooks", available: false, note: "hooks engine not available"))
            }
        }
        print(report.table())
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
            print("figures written to \(json)")
        }
    }

    /// Whether this podio-mirror has the webhooks' commands (`hooks install`).
    private func hooksAvailable(_ binary: String) async throws -> Bool {
        // ArgumentParser answers --help of an unknown subcommand with the root's help and 0.
        let outcome = try await Child.run(
            binary, ["hooks", "install", "--help"], environment: ProcessInfo.processInfo.environment)
        return outcome.ok && (outcome.stdout + outcome.stderr).contains("--url")
    }
}
