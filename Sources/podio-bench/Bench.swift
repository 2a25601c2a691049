import ArgumentParser
import Foundation
import LibPQ
import Logging
import PodioAPI
import PodioMirror
import PodioSimulator

/// `make bench`: the real `podio-mirror` binary against the in-process simulator (quotas off)
/// and a throwaway PostgreSQL; prints a table and writes the same figures as JSON.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "main",
        abstract:
            "Benchmark podio-mirror: full sync against a COPY baseline, deltas, API calls, reader queries, a wide app, peak memory.",
        discussion: "Needs DATABASE_URL (scripts/with-postgres.sh sets it) and a release build of podio-mirror.")

    @Option(help: "Items of the every-field-type app for the ingest and delta runs.")
    var items: Int = 20_000

    @Option(help: "Share of items edited before the changed delta, in percent.")
    var changePercent: Double = 1

    @Option(help: "The two sizes of the memory pair, SMALL,LARGE (default N,10N; N/10,N above 20,000 items; 0 skips).")
    var memoryItems: String?

    @Option(help: "Items of the wide app (a full sync against a COPY of the same JSON; 0 skips).")
    var wideItems: Int = 5_000

    @Option(help: "Fields of the wide app.")
    var wideFields: Int = 100

    @Flag(help: "Skip the reader section (queries on the app's relation against a plain copy).")
    var noReader = false

    @Option(help: "The podio-mirror binary to run.")
    var mirror: String = ".build/release/podio-mirror"

    @Option(help: "Also write the figures as JSON to this path.")
    var json: String?

    @Option(help: "Seed of the simulator's dataset.")
    var seed: UInt64 = 1

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    func validate() throws {
        guard items >= 500 else { throw ValidationError("--items must be at least 500") }
        guard changePercent > 0, changePercent <= 100 else {
            throw ValidationError("--change-percent must be in (0, 100]")
        }
        guard wideItems >= 0 else { throw ValidationError("--wide-items must not be negative") }
        guard wideFields >= 1 else { throw ValidationError("--wide-fields must be at least 1") }
        if let memoryItems, memoryItems != "0", memoryPair(memoryItems) == nil {
            throw ValidationError("--memory-items takes SMALL,LARGE (e.g. 5000,50000) or 0")
        }
    }

    func memoryPair(_ text: String) -> (Int, Int)? {
        let parts = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, parts[0] > 0, parts[1] > parts[0] else { return nil }
        return (parts[0], parts[1])
    }

    func run() async throws {
        guard let server = ProcessInfo.processInfo.environment["DATABASE_URL"], !server.isEmpty else {
            throw Failure("DATABASE_URL is not set: run through `make bench` (scripts/with-postgres.sh)")
        }
        let binary = URL(fileURLWithPath: mirror).standardizedFileURL.path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw Failure("\(binary) is not built: run `swift build -c release` first")
        }
        let pair: (Int, Int)? = {
            if let memoryItems { return memoryItems == "0" ? nil : memoryPair(memoryItems) }
            return items <= 20_000 ? (items, items * 10) : (items / 10, items)
        }()
        var report = Report(items: items, changePercent: changePercent, machine: Report.Machine.current())
        let runner = Runner(binary: binary, serverURL: server, seed: seed)

        // 1–5: ingest, baseline, deltas, calls, then the reader section, on one simulator and database.
        try await runner.main(items: items, changePercent: changePercent, reader: !noReader, report: &report)

        // 6: a wide app's full sync against its COPY baseline.
        if wideItems > 0 {
            report.wide = try await runner.wide(items: wideItems, fields: wideFields)
        }

        // 7: peak memory at two sizes (a size equal to N reuses the ingest run).
        if let (small, large) = pair {
            var points: [Report.MemoryPoint] = []
            for n in [small, large] {
                let rss: Double
                if n == items, let full = report.fullSync {
                    rss = full.peakRSSMiB
                } else {
                    Runner.log("memory: full sync of \(n) items")
                    rss = try await runner.fullSyncOnly(items: n).peakRSSMiB
                }
                points.append(Report.MemoryPoint(items: n, peakRSSMiB: rss))
            }
            report.memory = points
        }
        report.finish()
        print(report.table())
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
            print("figures written to \(json)")
        }
    }
}
