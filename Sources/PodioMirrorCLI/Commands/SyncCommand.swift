import ArgumentParser
import Foundation
import Logging
import PodioAPI
import PodioMirror

/// Options shared by `sync` and `resync`.
struct SyncRunOptions: ParsableArguments, SettingOverrides {
    @Option(
        name: .customLong("app"), help: "An app id to sync (repeat for several; default PODIO_APPS, else every app).")
    var apps: [Int] = []

    @Option(
        name: .long,
        help: "The longest wait for quota before the run stops and defers: 90s, 15m, 1h (default 10m; PODIO_MAX_WAIT).")
    var maxWait: String?

    @Flag(name: .long, help: "Print the summary as one JSON object.")
    var json = false

    @Flag(
        name: .long,
        help: "Print the one-line summary, and a deferral's line on stderr (both printed anyway on a terminal).")
    var summary = false

    @Option(
        name: .long,
        help: "Write the metrics to this file at the end, node_exporter's textfile format (PODIO_METRICS_FILE).")
    var metricsFile: String?

    var overrides: [(variable: String, value: String?)] {
        [("PODIO_APPS", apps.isEmpty ? nil : apps.map(String.init).joined(separator: ","))]
    }

    func validate() throws {
        if let maxWait, DurationParser.seconds(maxWait) == nil {
            throw ValidationError("--max-wait must be a duration such as 90s, 15m or 1h")
        }
        guard apps.allSatisfy({ $0 > 0 }) else { throw ValidationError("--app takes positive app ids") }
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Incremental sync; an app never synced before gets a full load.",
        discussion: SyncRunner.discussion + SettingCatalog.help(for: SettingCatalog.Command.sync))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var podio: PodioOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var options: SyncRunOptions

    @Flag(name: .long, help: "Walk and compare, report what would be written or deleted, write nothing.")
    var dryRun = false

    func run() async throws {
        try await SyncRunner(
            kind: .sync, global: global, podio: podio, engine: engine, options: options, dryRun: dryRun
        ).run()
    }
}

struct ResyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resync", abstract: "Full re-read of the selected apps, with deletion detection.",
        discussion: SyncRunner.discussion + SettingCatalog.help(for: SettingCatalog.Command.resync))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var podio: PodioOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var options: SyncRunOptions

    @Flag(name: .long, help: "Walk and compare, report what would be written or deleted, write nothing.")
    var dryRun = false

    func run() async throws {
        try await SyncRunner(
            kind: .resync, global: global, podio: podio, engine: engine, options: options, dryRun: dryRun
        ).run()
    }
}

/// The body of `sync` and `resync`.
///
/// Quiet for cron: on success nothing is printed unless stdout is a terminal, `--summary` or
/// `--json` asks (the summary is logged at info and recorded in `podio.sync_runs`). A failure
/// prints one line on stderr. A deferral (exit 75: quota, or other runs hold every app) is
/// normal under cron and prints nothing, unless it is the `deferralsBeforeMail`-th run of its
/// kind in a row to defer, or stderr is a terminal: then its line is printed (and the exit
/// code stays 75).
struct SyncRunner {
    static let deferralsBeforeMail = 4

    static let discussion = """
        On success nothing is printed unless stdout is a terminal or --summary/--json asks; a failure prints \
        one line on stderr; a deferral (exit 75) prints its line only when it is the \(deferralsBeforeMail)th run \
        of its kind in a row to defer. Exit codes: 0 done, 75 deferred, 64 usage or configuration, \
        77 credentials refused, 69 Podio unavailable, 70 database error, 1 anything else.


        """

    let kind: SyncOptions.Kind
    let global: GlobalOptions
    let podio: PodioOptions
    let engine: EngineOptions
    let options: SyncRunOptions
    let dryRun: Bool

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.\(kind.rawValue)")
            let settings = try global.settings(podio, engine, options)
            let maxWaitText = try global.value("PODIO_MAX_WAIT", option: options.maxWait) ?? "10m"
            guard let maxWait = DurationParser.seconds(maxWaitText) else {
                throw MirrorError(.usage, "PODIO_MAX_WAIT is not a duration", fix: "use 90s, 15m, 1h or plain seconds")
            }
            let metricsFile = try global.value("PODIO_METRICS_FILE", option: options.metricsFile)
            let textfile = metricsFile.map { MetricsTextfile(path: $0, settings: settings, logger: logger) }
            let transport = CommandEnvironment.transport(settings)
            let terminal = CommandRunner.stdoutIsTerminal && !options.json
            // Progress on a terminal; deep history's cost and ETA also with --summary (it is
            // opt-in, and what it will spend may be wanted in a cron mail), else in the log.
            var observer: SyncObserver?
            if terminal {
                observer = Self.progressPrinter
            } else if options.summary && !options.json {
                observer = Self.planPrinter
            } else {
                observer = { event in
                    if case .deepHistoryPlan(let plan) = event { logger.info("\(plan.line)") }
                }
            }
            let coordinator = SyncCoordinator(
                settings: settings, transport: transport, observer: observer,
                metrics: textfile?.metrics ?? MirrorMetrics(), logger: logger)
            let syncOptions = SyncOptions(
                kind: kind, apps: options.apps.isEmpty ? nil : options.apps, dryRun: dryRun, maxWait: maxWait)
            let result: Result<RunSummary, any Error>
            do {
                result = .success(try await coordinator.run(syncOptions))
            } catch {
                result = .failure(error)
            }
            await textfile?.write()
            switch result {
            case .success(let summary):
                logger.info("\(summary.line)")
                if options.json {
                    try CommandRunner.printJSON(summary)
                } else if options.summary || terminal {
                    CommandRunner.print(summary.line)
                }
            case .failure(let error):
                let classified = MirrorError(classifying: error)
                if classified.category == .deferred && !options.summary && !CommandRunner.stderrIsTerminal {
                    let inARow = error is AllAppsHeld ? 0 : await deferralsInARow(settings, logger: logger)
                    if inARow < Self.deferralsBeforeMail {
                        logger.notice("\(classified.description)")
                        throw ExitCode(classified.category.exitCode)
                    }
                }
                throw error
            }
        }
    }

    /// How many of the last runs of this kind (this one included) deferred, up to
    /// `deferralsBeforeMail`; that many when the database cannot say (better a mail too many).
    func deferralsInARow(_ settings: MirrorSettings, logger: Logger) async -> Int {
        let kindName = kind.rawValue + (dryRun ? "-dry-run" : "")
        do {
            let statuses = try await CommandEnvironment.mirror(settings, logger: logger).latestRunStatuses(
                kind: kindName, limit: Self.deferralsBeforeMail)
            return statuses.prefix { $0 == .deferred }.count
        } catch {
            return Self.deferralsBeforeMail
        }
    }

    /// Only deep history's plan (stdout is not a terminal).
    static let planPrinter: SyncObserver = { event in
        if case .deepHistoryPlan = event { progressPrinter(event) }
    }

    /// One line per app plan and page, for people watching a terminal.
    static let progressPrinter: SyncObserver = { event in
        switch event {
        case .plan(let appID, let name, let mode, let calls, let eta):
            var estimate = calls.map { " ~\($0) call\($0 == 1 ? "" : "s")" } ?? ""
            if let eta, eta > 0 { estimate += ", ~\(DurationParser.describe(eta)) under the quota" }
            CommandRunner.print(
                "\(mode == .full ? "full load" : mode == .listing ? "listing" : "delta") of app \(appID) (\(name)):\(estimate)"
            )
        case .page(let appID, _, let done, let total, let calls):
            CommandRunner.print("  app \(appID): \(min(done, total))/\(total) items, \(calls) calls used")
        case .appFinished(let app):
            CommandRunner.print(
                "  app \(app.appID): \(app.itemsWritten) written, \(app.itemsUnchanged) unchanged, \(app.itemsDeleted) deleted, \(app.calls) calls"
            )
        case .deepHistoryPlan(let plan):
            CommandRunner.print(plan.line)
        }
    }
}
