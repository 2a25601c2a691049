import ArgumentParser

/// `podio-mirror`: keeps a PostgreSQL database in step with Podio.
public struct PodioMirrorCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "podio-mirror",
        abstract: "Keeps a PostgreSQL database in step with Podio.",
        discussion: """
            Configuration comes from the environment: DATABASE_URL, PODIO_API_URL, PODIO_CLIENT_ID, \
            PODIO_CLIENT_SECRET, PODIO_USERNAME, PODIO_PASSWORD, PODIO_APP_AUTH, PODIO_APPS, \
            PODIO_APPS_REFRESH, PODIO_RATE_LIMIT, PODIO_RATE_LIMIT_GENERAL, PODIO_RATE_WINDOW, \
            PODIO_REQUEST_TIMEOUT, PODIO_RECONCILE_EVERY, PODIO_HOOK_DELTA_AT, PODIO_HOOK_GRACE (see the README).

            Exit codes: 0 done, 75 deferred (quota, or another run holds every app: try again later), 64 bad usage or \
            configuration, 77 Podio refused the credentials, 69 Podio unavailable, 70 database error, \
            1 anything else.
            """,
        subcommands: [
            MigrateCommand.self, AppsCommand.self, SyncCommand.self, ResyncCommand.self, StatusCommand.self,
            LoginCommand.self, RunCommand.self, TablesCommand.self, HooksCommand.self, DbtSourcesCommand.self,
        ])

    public init() {}
}
