import ArgumentParser
import Foundation
import PodioMirror

/// `podio-mirror dbt-sources`: a dbt `sources.yml` for the mirror, from its catalogue (no call
/// to Podio). See docs/dbt.md.
struct DbtSourcesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dbt-sources",
        abstract:
            "Prints a dbt sources.yml for the mirror: app tables with Podio's names, freshness from the schedule.",
        discussion: SettingCatalog.help(for: SettingCatalog.Command.dbtSources))

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Write the YAML to this file instead of printing it.")
    var output: String?

    @Option(
        name: .long,
        help: """
            How often the mirror syncs (15m, 1h): the freshness thresholds follow it. Default: the schedule of \
            the `run` schedulers sharing the database, else 1h (overrides PODIO_RUN_EVERY).
            """)
    var every: String?

    func validate() throws {
        if let every, DurationParser.seconds(every).map({ $0 >= 1 }) != true {
            throw ValidationError("--every must be a duration such as 15m")
        }
    }

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.dbt-sources")
            let settings = try global.settings()
            let every = try global.value("PODIO_RUN_EVERY", option: every)
            let interval: Double?
            if let every {
                guard let seconds = DurationParser.seconds(every), seconds >= 1 else {
                    throw MirrorError(.usage, "PODIO_RUN_EVERY must be a duration such as 15m")
                }
                interval = seconds
            } else {
                interval = nil
            }
            let sources = try await CommandEnvironment.mirror(settings, logger: logger).dbtSources(every: interval)
            let yaml = sources.yaml
            if let output {
                do {
                    try Data(yaml.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
                } catch {
                    throw MirrorError(
                        .usage, "cannot write \(output): \(error.localizedDescription)",
                        fix: "give --output a path in a directory you may write to")
                }
                CommandRunner.print("\(sources.tables.count + 3) sources tables written to \(output)")
            } else {
                FileHandle.standardOutput.write(Data(yaml.utf8))
            }
        }
    }
}
