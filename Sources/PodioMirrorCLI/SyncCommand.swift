import ArgumentParser
import Foundation
import PodioAPI
import PodioMirror

/// Options shared by `sync` and `resync`.
struct SyncRunOptions: ParsableArguments {
    @Option(
        name: .customLong("app"), help: "An app id to sync (repeat for several; default PODIO_APPS, else every app).")
    var apps: [Int] = []

    @Option(name: .long, help: "The longest wait for quota before the run stops and defers (90s, 15m, 1h).")
    var maxWait: String = "10m"

    @Flag(name: .long, help: "Print the summary as one JSON object.")
    var json = false

    func validate() throws {
        guard DurationParser.seconds(maxWait) != nil else {
            throw ValidationError("--max-wait must be a duration such as 90s, 15m or 1h")
        }
        guard apps.allSatisfy({ $0 > 0 }) else { throw ValidationError("--app takes positive app ids") }
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Incremental sync; an app never synced before gets a full load.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: SyncRunOptions

    @Flag(name: .long, help: "Walk and compare, report what would be written or deleted, write nothing.")
    var dryRun = false

    func run() async throws {
        try await SyncRunner.run(kind: .sync, global: global, options: options, dryRun: dryRun)
    }
}

struct ResyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resync", abstract: "Full re-read of the selected apps, with deletion detection.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: SyncRunOptions

    @Flag(name: .long, help: "Walk and compare, report what would be written or deleted, write nothing.")
    var dryRun = false

    func run() async throws {
        try await SyncRunner.run(kind: .resync, global: global, options: options, dryRun: dryRun)
    }
}

/// The body of `sync` and `resync`.
enum SyncRunner {
    static func run(kind: SyncOptions.Kind, global: GlobalOptions, options: SyncRunOptions, dryRun: Bool) async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.\(kind.rawValue)")
            let settings = try global.settings()
            let transport = AsyncHTTPClientTransport(readTimeout: settings.requestTimeout)
            let terminal = CommandRunner.stdoutIsTerminal && !options.json
            // Deep history's cost and ETA are printed whether or not stdout is a terminal (it is
            // opt-in, and what it will spend should be in a cron mail); progress only on a terminal.
            var observer: SyncObserver?
            if terminal {
                observer = progressPrinter
            } else if !options.json {
                observer = planPrinter
            }
            let coordinator = SyncCoordinator(
                settings: settings, transport: transport, observer: observer, logger: logger)
            let syncOptions = SyncOptions(
                kind: kind, apps: options.apps.isEmpty ? nil : options.apps, dryRun: dryRun,
                maxWait: DurationParser.seconds(options.maxWait) ?? 600)
            let result: Result<RunSummary, any Error>
            do {
                result = .success(try await coordinator.run(syncOptions))
            } catch {
                result = .failure(error)
            }
            try? await transport.shutdown()
            let summary = try result.get()
            if options.json {
                try CommandRunner.printJSON(summary)
            } else {
                CommandRunner.print(summary.line)
            }
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
            CommandRunner.print("\(mode == "full" ? "full load" : "delta") of app \(appID) (\(name)):\(estimate)")
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
