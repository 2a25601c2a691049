import ArgumentParser
import Foundation
import Logging
import PodioMirror

/// Options every command takes: logging, and the settings that are not secrets.
///
/// Secrets (client secret, password, app tokens, a password inside DATABASE_URL) are read from
/// the environment only, never from arguments, so they never show in `ps` output.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Log level: trace, debug, info, notice, warning, error, critical (default: warning; info for run).")
    var logLevel: String?

    @Option(name: .long, help: "Log format: text or json (one object a line, for log collectors).")
    var logFormat: String = "text"

    @Option(name: .long, help: "Podio API URL (overrides PODIO_API_URL).")
    var apiURL: String?

    @Option(name: .long, help: "Database connection string without a password (overrides DATABASE_URL).")
    var databaseURL: String?

    @Option(
        name: .long,
        help: "The API key's client id (overrides PODIO_CLIENT_ID; the secret comes from the environment only).")
    var clientID: String?

    @Option(
        name: .long,
        help:
            "The Podio user of the password flow (overrides PODIO_USERNAME; the password comes from the environment only)."
    )
    var username: String?

    @Option(name: .long, help: "Calls per window for rate-limited operations (overrides PODIO_RATE_LIMIT).")
    var rateLimit: String?

    @Option(name: .long, help: "Calls per window for other operations (overrides PODIO_RATE_LIMIT_GENERAL).")
    var rateLimitGeneral: String?

    @Option(name: .long, help: "The quota window: 90s, 15m, 1h (overrides PODIO_RATE_WINDOW).")
    var rateWindow: String?

    @Option(name: .long, help: "How long one Podio request may take: 90s, 2m (overrides PODIO_REQUEST_TIMEOUT).")
    var requestTimeout: String?

    @Option(
        name: .long,
        help: "How long a gap an ID sweep explained goes unswept: 6h, 24h (overrides PODIO_SWEEP_INTERVAL).")
    var sweepInterval: String?

    @Option(
        name: .long,
        help: "Keep an item's previous state when its revision changes: on or off (overrides PODIO_HISTORY).")
    var history: String?

    @Option(name: .long, help: "Mirror the comments of items: on or off (overrides PODIO_COMMENTS).")
    var comments: String?

    @Option(name: .long, help: "Podio's revisions of items: off, all, or app ids (overrides PODIO_DEEP_HISTORY).")
    var deepHistory: String?

    @Option(name: .long, help: "Download the attached files into this directory, or off (overrides PODIO_FILES).")
    var downloadFiles: String?

    @Option(name: .long, help: "How often the app list is asked of Podio: 30m, 1h (overrides PODIO_APPS_REFRESH).")
    var appsRefresh: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel.lowercased()) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard ["text", "json"].contains(logFormat.lowercased()) else {
            throw ValidationError("--log-format must be text or json")
        }
        if let databaseURL, Self.containsPassword(databaseURL) {
            throw ValidationError(
                "--database-url must not carry a password (it would show in the process list); set DATABASE_URL or use ~/.pgpass"
            )
        }
    }

    /// Bootstraps logging (once per process) and returns the logger of the command. One-shot
    /// commands log warnings and worse by default, so cron mails stay short.
    func logger(_ label: String, defaultLevel: Logger.Level = .warning) -> Logger {
        let level = logLevel.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? defaultLevel
        LogSetup.bootstrap(level: level, json: logFormat.lowercased() == "json")
        return Logger(label: label)
    }

    /// The settings: environment first, then these options on top (checked the same way, and
    /// named by their variable in messages).
    func settings() throws -> MirrorSettings {
        var env = ProcessInfo.processInfo.environment
        let overrides: [(variable: String, value: String?)] = [
            ("PODIO_API_URL", apiURL), ("DATABASE_URL", databaseURL), ("PODIO_CLIENT_ID", clientID),
            ("PODIO_USERNAME", username), ("PODIO_RATE_LIMIT", rateLimit),
            ("PODIO_RATE_LIMIT_GENERAL", rateLimitGeneral),
            ("PODIO_RATE_WINDOW", rateWindow), ("PODIO_REQUEST_TIMEOUT", requestTimeout),
            ("PODIO_SWEEP_INTERVAL", sweepInterval), ("PODIO_HISTORY", history), ("PODIO_COMMENTS", comments),
            ("PODIO_FILES", downloadFiles), ("PODIO_DEEP_HISTORY", deepHistory), ("PODIO_APPS_REFRESH", appsRefresh),
        ]
        for (variable, value) in overrides {
            if let value { env[variable] = value }
        }
        return try MirrorSettings.fromEnvironment(env)
    }

    static func containsPassword(_ url: String) -> Bool {
        if url.range(of: "password", options: .caseInsensitive) != nil { return true }
        guard let scheme = url.range(of: "://") else { return false }
        let rest = url[scheme.upperBound...]
        guard let at = rest.firstIndex(of: "@") else { return false }
        return rest[..<at].contains(":")
    }
}
