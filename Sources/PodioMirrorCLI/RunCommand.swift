import ArgumentParser
import Foundation
import Logging
import PodioAPI
import PodioMirror
import ServiceLifecycle

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Long-running scheduler for containers: a delta sync every D, graceful stop on SIGTERM/SIGINT.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Time between delta syncs (90s, 15m, 1h).")
    var every: String

    @Option(name: .long, help: "Also run a full resync at this cadence (e.g. 24h); default never.")
    var resyncEvery: String?

    @Option(name: .long, help: "The longest wait for quota inside one run (default: the interval).")
    var maxWait: String?

    @Option(name: .customLong("app"), help: "An app id to sync (repeat for several).")
    var apps: [Int] = []

    func validate() throws {
        guard let seconds = DurationParser.seconds(every), seconds >= 1 else { throw ValidationError("--every must be a duration such as 15m") }
        if let resyncEvery, DurationParser.seconds(resyncEvery) == nil { throw ValidationError("--resync-every must be a duration such as 24h") }
        if let maxWait, DurationParser.seconds(maxWait) == nil { throw ValidationError("--max-wait must be a duration such as 10m") }
    }

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.run", defaultLevel: .info)
            let settings = try global.settings()
            _ = try settings.requireAPIKey()
            let interval = DurationParser.seconds(every) ?? 900
            let service = SchedulerService(
                settings: settings, interval: interval, resyncInterval: resyncEvery.flatMap(DurationParser.seconds),
                maxWait: maxWait.flatMap(DurationParser.seconds) ?? interval, apps: apps.isEmpty ? nil : apps, logger: logger)
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            logger.info("scheduler stopped")
        }
    }
}

/// Runs a sync every interval (a resync at its own cadence), each under the run lock so the
/// scheduler can share a database with cron jobs. On SIGTERM/SIGINT the run in progress stops
/// after the page in flight is committed.
struct SchedulerService: Service {
    let settings: MirrorSettings
    let interval: Double
    let resyncInterval: Double?
    let maxWait: Double
    let apps: [Int]?
    let logger: Logger

    func run() async throws {
        let transport = AsyncHTTPClientTransport(readTimeout: settings.requestTimeout)
        var nextResync = resyncInterval.map { Date().addingTimeInterval($0) }
        logger.info("scheduler started", metadata: ["every": "\(DurationParser.describe(interval))"])
        while !Task.isShuttingDownGracefully {
            let started = Date()
            var kind = SyncOptions.Kind.sync
            if let due = nextResync, due <= started {
                kind = .resync
                nextResync = resyncInterval.map { started.addingTimeInterval($0) }
            }
            var options = SyncOptions(kind: kind, apps: apps, maxWait: maxWait)
            options.stopRequested = { Task.isShuttingDownGracefully }
            let coordinator = SyncCoordinator(settings: settings, transport: transport, logger: logger)
            do {
                let summary = try await coordinator.run(options)
                logger.info("\(summary.line)")
            } catch {
                let (code, message) = CommandRunner.describe(error)
                if code == 75 { logger.notice("\(message)") } else { logger.error("\(message)") }
            }
            let next = started.addingTimeInterval(interval)
            let wait = max(0, next.timeIntervalSinceNow)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
        }
        try? await transport.shutdown()
    }
}
