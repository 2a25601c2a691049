import Foundation
import Logging
import PodioMirror
import Prometheus

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `sync --metrics-file PATH` (`PODIO_METRICS_FILE`): at the end of the run, the metrics of
/// `/metrics` (this run's counters, and what the database says of every process: quota, lag,
/// last successes) in node_exporter's textfile format. Written beside the file and renamed over
/// it, so the collector never reads half a file; the temporary name starts with a dot and does
/// not end in `.prom`, so the collector skips it.
struct MetricsTextfile: Sendable {
    let path: String
    let settings: MirrorSettings
    let logger: Logger
    let registry: PrometheusCollectorRegistry
    let metrics: MirrorMetrics

    init(path: String, settings: MirrorSettings, logger: Logger) {
        self.path = path
        self.settings = settings
        self.logger = logger
        let (registry, factory) = MonitoringServer.makeMetrics()
        self.registry = registry
        metrics = MirrorMetrics(factory: factory)
    }

    /// Writes the file; a failure is logged (an error: cron mails it) and does not change the
    /// run's exit code.
    func write() async {
        let mirror = Mirror.listener(settings: settings, logger: logger)
        let text = await MonitoringServer.metricsText(
            mirror: mirror, registry: registry, metrics: metrics, settings: settings, logger: logger)
        await mirror.close()
        do {
            try Self.replace(path, with: Data(text.utf8))
        } catch {
            logger.error("the metrics file \(path) could not be written: \(error)")
        }
    }

    /// Writes `data` to a temporary file in the same directory, then renames it over `path`.
    static func replace(_ path: String, with data: Data) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw MirrorError(.other, "rename to \(path) failed: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }
}
