import Foundation

/// The figures of one `podio-mirror sync --json` run.
struct SyncRun: Codable, Sendable {
    /// Wall time of the child process, start to exit.
    var wallSeconds: Double
    /// The run's own `seconds` (after process start-up and connecting).
    var runSeconds: Double
    var httpSeconds: Double
    var decodeSeconds: Double
    var writeSeconds: Double
    /// API calls the engine's ledger counted.
    var callsLedger: Int
    /// API calls the simulator served (token grants excluded).
    var callsServed: Int
    var itemsSeen: Int
    var itemsWritten: Int
    var itemsUnchanged: Int
    var peakRSSMiB: Double
    var status: String

    enum CodingKeys: String, CodingKey {
        case wallSeconds = "wall_seconds", runSeconds = "run_seconds", httpSeconds = "http_seconds"
        case decodeSeconds = "decode_seconds", writeSeconds = "write_seconds", callsLedger = "calls_ledger"
        case callsServed = "calls_served", itemsSeen = "items_seen", itemsWritten = "items_written"
        case itemsUnchanged = "items_unchanged", peakRSSMiB = "peak_rss_mib", status
    }

    /// The parts of `sync --json` the bench reads.
    struct Summary: Decodable {
        struct App: Decodable {
            var items_seen: Int
            var items_written: Int
            var items_unchanged: Int
        }
        var status: String
        var seconds: Double
        var calls_rate_limited: Int
        var calls_general: Int
        var http_seconds: Double
        var decode_seconds: Double
        var write_seconds: Double
        var apps: [App]
    }

    init(child: ChildOutcome, callsServed: Int) throws {
        guard child.ok else {
            throw Bench.Failure("podio-mirror sync exited with \(child.status): \(child.stderr.suffix(2000))")
        }
        guard let line = child.stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw Bench.Failure("podio-mirror sync --json printed no JSON: \(child.stdout.suffix(500))")
        }
        let s = try JSONDecoder().decode(Summary.self, from: Data(line.utf8))
        wallSeconds = child.seconds
        runSeconds = s.seconds
        httpSeconds = s.http_seconds
        decodeSeconds = s.decode_seconds
        writeSeconds = s.write_seconds
        callsLedger = s.calls_rate_limited + s.calls_general
        self.callsServed = callsServed
        itemsSeen = s.apps.reduce(0) { $0 + $1.items_seen }
        itemsWritten = s.apps.reduce(0) { $0 + $1.items_written }
        itemsUnchanged = s.apps.reduce(0) { $0 + $1.items_unchanged }
        peakRSSMiB = Double(child.maxRSSKiB) / 1024
        status = s.status
    }
}
