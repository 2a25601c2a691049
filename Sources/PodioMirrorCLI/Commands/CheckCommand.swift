import ArgumentParser
import Foundation
import PodioAPI
import PodioMirror

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract:
            "Checks a setup before the first run: credentials, database, Podio's tiers and quota, the first load's estimate.",
        discussion: """
            Needs no schema and writes no mirrored data (once the schema is current, its calls are booked in \
            the quota ledger and its token stored). Spends at most \(MirrorCheck.callBudget) Podio API calls \
            (said before the first). One line per check, \
            with a fix for each failure (docs/check.md). Exit codes: 0 nothing failed, 64 configuration, \
            69 unavailable (database, Podio, the hook URL), 77 credentials or permissions refused, \
            75 the quota has no room for the check now.

            """ + SettingCatalog.help(for: SettingCatalog.Command.check))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var podio: PodioOptions
    @OptionGroup var scope: CheckScopeOptions

    @Option(name: .long, help: "The public base URL that should reach `run --listen`: POSTs a harmless probe to it.")
    var hookURL: String?

    @Flag(
        name: .long,
        help: "Also measure Podio's undocumented readings on this account (read only, at most 20 calls more).")
    var podioQuirks = false

    @Flag(name: .long, help: "Print the report as one JSON object.")
    var json = false

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.check")
            let report: CheckReport
            do {
                let settings = try global.settings(podio, scope)
                let check = MirrorCheck(
                    settings: settings, hookURL: hookURL, podioQuirks: podioQuirks,
                    transport: CommandEnvironment.transport(settings),
                    logger: logger)
                report = await check.run { line in
                    if !json { CommandRunner.print(line.text) }
                }
            } catch {
                let (code, message) = CommandRunner.describe(error)
                var failed = CheckReport()
                failed.lines.append(
                    CheckReport.Line(
                        check: "configuration", status: .fail, message: message,
                        fix: "see docs/configuration.md", exitCode: code))
                if !json { CommandRunner.print(failed.lines[0].text) }
                report = failed
            }
            if json {
                try CommandRunner.printJSON(report)
            } else {
                if !report.quirkTable.isEmpty {
                    CommandRunner.print("")
                    for line in report.quirkTable { CommandRunner.print(line) }
                    CommandRunner.print("")
                }
                let failures = report.lines.filter { $0.status == .fail }.count
                var summary =
                    "Podio: \(report.callsSpent) API calls spent (at most \(report.callsAnnounced) announced), \(report.tokenGrants) token grant\(report.tokenGrants == 1 ? "" : "s"); "
                summary +=
                    failures == 0
                    ? "nothing failed"
                    : "\(failures) check\(failures == 1 ? "" : "s") failed (exit \(report.exitCode))"
                CommandRunner.print(summary)
            }
            if report.exitCode != 0 { throw ExitCode(report.exitCode) }
        }
    }
}
