import ArgumentParser
import Foundation
import Logging
import PodioMirror

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Options every command takes: the env file, logging and the database.
///
/// Secrets (client secret, password, app tokens, a password inside DATABASE_URL) are read from
/// the environment only (or `NAME_FILE`), never from arguments, so they never show in `ps`
/// output. Each command adds the option groups of the settings it reads (`SettingCatalog`).
struct GlobalOptions: ParsableArguments, SettingOverrides {
    @Option(
        name: .long,
        help: "Read settings from this file of NAME=value lines (a variable set in the environment wins).")
    var envFile: String?

    @Option(
        name: .long,
        help:
            "Log level: trace, debug, info, notice, warning, error, critical (default: warning; info for run; PODIO_LOG_LEVEL)."
    )
    var logLevel: String?

    @Option(name: .long, help: "Log format: text or json, one object a line (default: text; PODIO_LOG_FORMAT).")
    var logFormat: String?

    @Option(name: .long, help: "Database connection string without a password (overrides DATABASE_URL).")
    var databaseURL: String?

    var overrides: [(variable: String, value: String?)] {
        [("DATABASE_URL", databaseURL), ("PODIO_LOG_LEVEL", logLevel), ("PODIO_LOG_FORMAT", logFormat)]
    }

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel.lowercased()) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if let logFormat, !["text", "json"].contains(logFormat.lowercased()) {
            throw ValidationError("--log-format must be text or json")
        }
        if let databaseURL, Self.containsPassword(databaseURL) {
            throw ValidationError(
                "--database-url must not carry a password (it would show in the process list); set DATABASE_URL or use ~/.pgpass"
            )
        }
    }

    /// The environment with `--env-file` under it (a variable set and not empty in the real
    /// environment wins) and every `NAME_FILE` read. The file's variables are also exported to
    /// this process, so that libpq sees `PGPASSWORD`, `PGHOST` and the like.
    func environment() throws -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        if let envFile {
            let file = try EnvironmentFile.load(envFile)
            env = EnvironmentFile.merged(file, under: env)
            for (name, value) in file where env[name] == value { setenv(name, value, 1) }
        }
        return try SettingCatalog.resolvingFiles(env)
    }

    /// The variables as the command sees them: the environment, then the options of `groups`
    /// (and these) on top, checked for the values only this layer reads.
    func variables(_ groups: [any SettingOverrides]) throws -> [String: String] {
        var env = try environment()
        for group in ([self] as [any SettingOverrides]) + groups {
            for (variable, value) in group.overrides {
                if let value { env[variable] = value }
            }
        }
        if let level = nonEmpty(env["PODIO_LOG_LEVEL"]), Logger.Level(rawValue: level.lowercased()) == nil {
            throw MirrorError(
                .usage, "PODIO_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical")
        }
        if let format = nonEmpty(env["PODIO_LOG_FORMAT"]), !["text", "json"].contains(format.lowercased()) {
            throw MirrorError(.usage, "PODIO_LOG_FORMAT must be text or json")
        }
        return env
    }

    /// Bootstraps logging (once per process) and returns the logger of the command. One-shot
    /// commands log warnings and worse by default, so cron mails stay short.
    func logger(_ label: String, defaultLevel: Logger.Level = .warning) -> Logger {
        let env = (try? variables([])) ?? ProcessInfo.processInfo.environment
        let level = nonEmpty(env["PODIO_LOG_LEVEL"]).flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? defaultLevel
        LogSetup.bootstrap(level: level, json: nonEmpty(env["PODIO_LOG_FORMAT"])?.lowercased() == "json")
        return Logger(label: label)
    }

    /// The settings: environment first, then the options of these groups on top (checked the
    /// same way, and named by their variable in messages).
    func settings(_ groups: any SettingOverrides...) throws -> MirrorSettings {
        try MirrorSettings.fromEnvironment(variables(groups))
    }

    /// A value the command line reads itself: the option, else the variable. A setting whose
    /// documented default is `off` or `never` takes that word as "unset".
    func value(_ variable: String, option: String?) throws -> String? {
        let fromEnvironment = nonEmpty(try environment()[variable])
        guard let text = option ?? fromEnvironment else { return nil }
        let unset = SettingCatalog.all.first { $0.variable == variable }.map {
            ["off", "never"].contains($0.defaultValue)
        }
        return unset == true && ["off", "never"].contains(text.lowercased()) ? nil : text
    }

    private func nonEmpty(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        return text
    }

    static func containsPassword(_ url: String) -> Bool {
        if url.range(of: "password", options: .caseInsensitive) != nil { return true }
        guard let scheme = url.range(of: "://") else { return false }
        let rest = url[scheme.upperBound...]
        guard let at = rest.firstIndex(of: "@") else { return false }
        return rest[..<at].contains(":")
    }
}
