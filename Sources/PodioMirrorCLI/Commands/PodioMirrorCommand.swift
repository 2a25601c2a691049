import ArgumentParser

/// `podio-mirror`: keeps a PostgreSQL database in step with Podio.
public struct PodioMirrorCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "podio-mirror",
        abstract: "Keeps a PostgreSQL database in step with Podio.",
        discussion: """
            Configuration comes from the environment (or --env-file FILE, NAME=value lines; secrets also \
            from NAME_FILE); every setting that is not a secret is an option too. Each command's --help lists \
            the settings it reads; docs/configuration.md lists them all.

            Exit codes: 0 done, 75 deferred (quota, or another run holds every app: try again later), 64 bad usage or \
            configuration, 77 Podio refused the credentials, 69 Podio unavailable, 70 database error, \
            1 anything else.
            """,
        version: PodioMirrorVersion.description,
        subcommands: [
            CheckCommand.self, MigrateCommand.self, AppsCommand.self, SyncCommand.self, ResyncCommand.self,
            StatusCommand.self, LoginCommand.self, RunCommand.self, TablesCommand.self, HooksCommand.self,
            DbtSourcesCommand.self, ConfigReferenceCommand.self,
        ])

    public init() {}
}
