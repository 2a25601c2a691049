import ArgumentParser
import PodioMirror

/// `podio-mirror tables`: brings every app table in step with its stored fields, without a call
/// to Podio (the sync does the same for each app it syncs). `views`, the first version's
/// command, is an alias so existing scripts keep working.
struct TablesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tables",
        abstract: "Brings the app tables in schema podio_apps in step with their fields (no Podio calls).",
        discussion: SettingCatalog.help(for: SettingCatalog.Command.tables), aliases: ["views"])

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.tables")
            let settings = try global.settings()
            let tables = try await CommandEnvironment.mirror(settings, logger: logger).reconcileTables()
            for warning in tables.flatMap(\.report.warnings) { logger.warning("\(warning)") }
            let changed = tables.filter { $0.report.changed }.count
            let names = tables.map { "podio_apps.\($0.table)" }
            CommandRunner.print(
                "\(tables.count) app table\(tables.count == 1 ? "" : "s"), \(changed) changed"
                    + (names.isEmpty ? "" : ": " + names.joined(separator: ", ")))
        }
    }
}
