import ArgumentParser
import PodioMirror

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Creates or upgrades the database schema; safe to run any number of times.",
        discussion: SettingCatalog.help(for: SettingCatalog.Command.migrate))

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.migrate")
            let settings = try global.settings()
            let outcome = try await CommandEnvironment.mirror(settings, logger: logger).migrate()
            switch outcome {
            case .upToDate(let version):
                CommandRunner.print("schema is up to date (version \(version))")
            case .applied(nil, let to):
                CommandRunner.print("schema created (version \(to))")
            case .applied(let from?, let to):
                CommandRunner.print("schema upgraded from version \(from) to \(to)")
            }
        }
    }
}
