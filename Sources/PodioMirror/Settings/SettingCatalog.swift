import Foundation

/// Every setting of podio-mirror, in one table: each command's `--help`, the `NAME_FILE` form of
/// the secrets and docs/configuration.md are made from it, and tests check that it matches what
/// `MirrorSettings` reads and what each command accepts.
///
/// The convention: every setting that is not a secret is a variable and an option (the option
/// wins); a secret is a variable only, or `NAME_FILE` naming a file that holds it; the real
/// environment wins over `--env-file`.
public enum SettingCatalog {
    /// The commands, as `--help` and the catalog name them.
    public enum Command {
        public static let check = "check"
        public static let migrate = "migrate"
        public static let apps = "apps"
        public static let sync = "sync"
        public static let resync = "resync"
        public static let status = "status"
        public static let login = "login"
        public static let run = "run"
        public static let tables = "tables"
        public static let dbtSources = "dbt-sources"
        public static let hooksInstall = "hooks install"
        public static let hooksList = "hooks list"
        public static let hooksRemove = "hooks remove"

        public static let all = [check, migrate, apps, sync, resync, status, login, run, tables, dbtSources] + hooks
        public static let hooks = [hooksInstall, hooksList, hooksRemove]
        /// Commands that call Podio.
        public static let podio = [check, apps, sync, resync, login, run] + hooks
        /// Commands that count the quota.
        public static let quota = podio + [status]
        /// Commands that sync.
        public static let syncing = [sync, resync, run]
    }

    private typealias C = Command
    private typealias Key = ConfigurationKey

    public static let all: [ConfigurationKey] = [
        Key(
            "DATABASE_URL", option: "--database-url", defaultValue: "libpq's own (PGHOST, PGUSER, …)",
            example: "postgresql://mirror@localhost/podio", commands: C.all,
            "libpq connection string or URI; the option must not carry a password (use the variable, DATABASE_URL_FILE or ~/.pgpass)"
        ),
        Key(
            "PODIO_LOG_LEVEL", option: "--log-level", defaultValue: "warning (info for run)", example: "info",
            commands: C.all, reader: .command,
            "log level: trace, debug, info, notice, warning, error, critical (logs go to stderr)"),
        Key(
            "PODIO_LOG_FORMAT", option: "--log-format", defaultValue: "text", example: "json", commands: C.all,
            reader: .command, "log format: text, or json (one object a line, for log collectors)"),
        Key(
            "PODIO_API_URL", option: "--api-url", defaultValue: "https://api.podio.com",
            example: "https://api.podio.com", commands: C.podio,
            "Podio's API: https://, or http:// only to loopback (127.0.0.1, ::1, localhost)"),
        Key(
            "PODIO_CLIENT_ID", option: "--client-id", defaultValue: "required", example: "mirror-client",
            commands: C.podio, "the API key's client id (Podio: account settings, API keys)"),
        Key(
            "PODIO_CLIENT_SECRET", option: nil, defaultValue: "required", example: "client-secret",
            commands: C.podio, secret: true, "the API key's secret"),
        Key(
            "PODIO_USERNAME", option: "--username", defaultValue: "", example: "mirror@example.com",
            commands: C.podio, "the Podio user of the password flow"),
        Key(
            "PODIO_PASSWORD", option: nil, defaultValue: "", example: "password", commands: C.podio, secret: true,
            "the password of PODIO_USERNAME"),
        Key(
            "PODIO_APP_AUTH", option: nil, defaultValue: "", example: "123:token", commands: C.podio, secret: true,
            "app authentication: app_id:app_token pairs, comma-separated"),
        Key(
            "PODIO_APPS", option: "--app", defaultValue: "every app the credentials see", example: "123,456",
            commands: C.syncing + C.hooks + [C.check],
            "app ids to mirror, comma-separated (the option is repeated: --app 123 --app 456)"),
        Key(
            "PODIO_APPS_REFRESH", option: "--apps-refresh", defaultValue: "1h", example: "30m",
            commands: C.syncing + [C.status],
            "how long the app list is kept before a run asks Podio again; also how long an app Podio stopped serving is skipped"
        ),
        Key(
            "PODIO_RATE_LIMIT", option: "--rate-limit", defaultValue: "250", example: "250", commands: C.quota,
            "calls per window, rate-limited operations (item filter, count, app lists)"),
        Key(
            "PODIO_RATE_LIMIT_GENERAL", option: "--rate-limit-general", defaultValue: "1000", example: "1000",
            commands: C.quota, "calls per window, other operations"),
        Key(
            "PODIO_RATE_WINDOW", option: "--rate-window", defaultValue: "1h", example: "1h", commands: C.quota,
            "the quota window (90s, 15m, 1h or seconds)"),
        Key(
            "PODIO_RATE_RESERVE", option: "--rate-reserve", defaultValue: "5", example: "5", commands: C.quota,
            "percent of each quota left for other tools"),
        Key(
            "PODIO_REQUEST_TIMEOUT", option: "--request-timeout", defaultValue: "60s", example: "90s",
            commands: C.podio, "how long one Podio request, body included, may take before it is retried"),
        Key(
            "PODIO_SWEEP_INTERVAL", option: "--sweep-interval", defaultValue: "24h", example: "6h",
            commands: C.syncing,
            "how long a gap between Podio's item count and the mirror's that an ID sweep explained goes unswept"),
        Key(
            "PODIO_HISTORY", option: "--history", defaultValue: "on", example: "on", commands: C.syncing,
            "keep an item's previous state when a sync writes a newer revision (podio.item_versions): on or off"),
        Key(
            "PODIO_COMMENTS", option: "--comments", defaultValue: "on", example: "off",
            commands: C.syncing + [C.status] + C.hooks + [C.check],
            "mirror the comments of items (podio.comments; general-tier calls): on or off"),
        Key(
            "PODIO_FILES", option: "--download-files", defaultValue: "off", example: "/var/lib/podio-files",
            commands: C.syncing, "a directory to download the attached files into, or off"),
        Key(
            "PODIO_DEEP_HISTORY", option: "--deep-history", defaultValue: "off", example: "all",
            commands: C.syncing + [C.status, C.check],
            "Podio's revisions of items (general-tier calls): off, all, or app ids (123,456)"),
        Key(
            "PODIO_RECONCILE_EVERY", option: "--reconcile-every", defaultValue: "1h", example: "30m",
            commands: [C.run, C.status], "how often run gives an app with active webhooks its delta"),
        Key(
            "PODIO_HOOK_DELTA_AT", option: "--hook-delta-at", defaultValue: "20", example: "20", commands: C.syncing,
            "pending changed items of one app from which webhook events are served by one delta listing"),
        Key(
            "PODIO_LISTING_MAX_ITEMS", option: "--listing-max-items", defaultValue: "500", example: "500",
            commands: C.syncing,
            "apps of at most this many items are read whole each turn (one call up to 500, deletions found with it) instead of by a delta; 0: deltas only"
        ),
        Key(
            "PODIO_HOOK_GRACE", option: "--hook-grace", defaultValue: "30s", example: "30s", commands: C.syncing,
            "how long after an edit its webhook may still be on its way (younger changes are not counted missed)"),
        Key(
            "PODIO_IDENTITY_LABEL", option: "--identity-label", defaultValue: "user-<hash>",
            example: "service-account", commands: C.syncing,
            "the identity label of the user's quota in the metrics, instead of the kind and a hash of the identity"),
        Key(
            "PODIO_MAX_WAIT", option: "--max-wait", defaultValue: "10m (run: --every)", example: "15m",
            commands: C.syncing, reader: .command,
            "the longest wait for quota before a run stops and defers (90s, 15m, 1h)"),
        Key(
            "PODIO_METRICS_FILE", option: "--metrics-file", defaultValue: "off", example: "/var/lib/node/podio.prom",
            commands: [C.sync, C.resync], reader: .command,
            "write the metrics there at the end of the run (node_exporter's textfile format; written atomically)"),
        Key(
            "PODIO_RUN_EVERY", option: "--every",
            defaultValue: "required (dbt-sources: the workers' schedule, else 1h)",
            example: "15m", commands: [C.run, C.dbtSources], reader: .command,
            "time between delta syncs of run (90s, 15m, 1h); dbt-sources derives its freshness thresholds from it"),
        Key(
            "PODIO_RESYNC_EVERY", option: "--resync-every", defaultValue: "never", example: "24h",
            commands: [C.run], reader: .command, "run also runs a full resync at this cadence"),
        Key(
            "PODIO_LISTEN", option: "--listen", defaultValue: "off", example: "127.0.0.1:9464", commands: [C.run],
            reader: .command,
            "serve /livez, /readyz, /healthz, /metrics and the webhook receiver at HOST:PORT (a bare port: 127.0.0.1, a bare host: port 9464)"
        ),
    ]

    /// The setting of `variable`.
    public static func key(_ variable: String) -> ConfigurationKey? { all.first { $0.variable == variable } }

    /// The settings `command` reads.
    public static func keys(for command: String) -> [ConfigurationKey] { all.filter { $0.isRead(by: command) } }

    /// `env` with every `NAME_FILE` replaced by `NAME`, read from that file (its trailing
    /// newlines trimmed). Both set, or a file that cannot be read: a usage error (exit 64).
    public static func resolvingFiles(
        _ env: [String: String], read: (String) -> Data? = { FileManager.default.contents(atPath: $0) }
    ) throws -> [String: String] {
        var env = env
        for key in all {
            guard let fileVariable = key.fileVariable, let path = env[fileVariable], !path.isEmpty else { continue }
            if let direct = env[key.variable], !direct.isEmpty {
                throw MirrorError(
                    .usage, "both \(key.variable) and \(fileVariable) are set",
                    fix: "set one of them (\(fileVariable) names a file holding the value)")
            }
            guard let data = read(path), let text = String(data: data, encoding: .utf8) else {
                // The path is not echoed: `NAME_FILE=<the secret itself>` is a common slip.
                throw MirrorError(
                    .usage, "\(fileVariable) does not name a readable file",
                    fix: "point \(fileVariable) at a readable file holding \(key.variable) (a path, not the value)")
            }
            var value = Substring(text)
            while value.last?.isNewline == true { value = value.dropLast() }
            env[key.variable] = String(value)
            env[fileVariable] = nil
        }
        return env
    }

    /// The settings of `command`, for its `--help`: one line each, variable and option (the
    /// options' own help says what they do; docs/configuration.md says all).
    public static func help(for command: String) -> String {
        var lines = ["Settings it reads (variable, option; an option wins; --env-file FILE reads NAME=value lines):"]
        for key in keys(for: command) {
            if let option = key.option {
                lines.append("  \(key.variable)  \(option)")
            } else {
                lines.append("  \(key.variable) or \(key.variable)_FILE  (secret: environment or file only)")
            }
        }
        lines.append("docs/configuration.md describes every setting and its default.")
        return lines.joined(separator: "\n")
    }

    /// docs/configuration.md.
    public static func markdown() -> String {
        var text = """
            # Configuration

            <!-- Generated from SettingCatalog (Sources/PodioMirror/Settings/SettingCatalog.swift); \
            `podio-mirror config-reference > docs/configuration.md` writes it, and a test checks it is current. -->

            Every setting is an environment variable; every setting that is not a secret is also an
            option, which wins over the variable. Secrets are read from the environment only (never
            from arguments, which `ps` shows), or from a file named by `NAME_FILE` (docker and
            Kubernetes secrets: the file's trailing newline is dropped; setting both `NAME` and
            `NAME_FILE` is an error). `--env-file PATH` reads `NAME=value` lines (the format of docker
            compose's `env_file` and systemd's `EnvironmentFile`: `#` comments, blank lines,
            optional single or double quotes); a variable set in the real environment wins over the
            file. A missing or unreadable file, a bad line or a bad value exits 64 with one line
            naming the variable.

            | variable | option | default | read by | meaning |
            | --- | --- | --- | --- | --- |

            """
        for key in all {
            let variable = key.fileVariable.map { "`\(key.variable)`, `\($0)`" } ?? "`\(key.variable)`"
            let option = key.option.map { "`\($0)`" } ?? (key.secret ? "(secret: none)" : "")
            let commands = key.commands == Command.all ? "all" : key.commands.map { "`\($0)`" }.joined(separator: ", ")
            let defaultValue = key.defaultValue.isEmpty ? "" : key.defaultValue
            text += "| \(variable) | \(option) | \(defaultValue) | \(commands) | \(key.meaning) |\n"
        }
        return text
    }
}
