import ArgumentParser
import Foundation
import Logging
import PodioMirror

/// Options every command takes: logging, and the settings that are not secrets.
///
/// Secrets (client secret, password, app tokens, a password inside DATABASE_URL) are read from
/// the environment only, never from arguments, so they never show in `ps` output.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (default: warning; info for run).")
    var logLevel: String?

    @Option(name: .long, help: "Log format: text or json (one object a line, for log collectors).")
    var logFormat: String = "text"

    @Option(name: .long, help: "Podio API URL (overrides PODIO_API_URL).")
    var apiURL: String?

    @Option(name: .long, help: "Database connection string without a password (overrides DATABASE_URL).")
    var databaseURL: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel.lowercased()) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard ["text", "json"].contains(logFormat.lowercased()) else {
            throw ValidationError("--log-format must be text or json")
        }
        if let databaseURL, Self.containsPassword(databaseURL) {
            throw ValidationError(
                "--database-url must not carry a password (it would show in the process list); set DATABASE_URL or use ~/.pgpass")
        }
    }

    /// Bootstraps logging (once per process) and returns the logger of the command. One-shot
    /// commands log warnings and worse by default, so cron mails stay short.
    func logger(_ label: String, defaultLevel: Logger.Level = .warning) -> Logger {
        let level = logLevel.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? defaultLevel
        LogSetup.bootstrap(level: level, json: logFormat.lowercased() == "json")
        return Logger(label: label)
    }

    /// The settings: environment first, then these options on top.
    func settings() throws -> MirrorSettings {
        var settings = try MirrorSettings.fromEnvironment(ProcessInfo.processInfo.environment)
        if let apiURL {
            var env = ProcessInfo.processInfo.environment
            env["PODIO_API_URL"] = apiURL
            settings.apiURL = try MirrorSettings.fromEnvironment(env).apiURL
        }
        if let databaseURL { settings.databaseURL = databaseURL }
        return settings
    }

    static func containsPassword(_ url: String) -> Bool {
        if url.range(of: "password", options: .caseInsensitive) != nil { return true }
        guard let scheme = url.range(of: "://") else { return false }
        let rest = url[scheme.upperBound...]
        guard let at = rest.firstIndex(of: "@") else { return false }
        return rest[..<at].contains(":")
    }
}
