import ArgumentParser
import Foundation
import PodioAPI
import PodioMirror

/// `hooks install --url URL`, `hooks list`, `hooks remove`: the mirror's Podio webhooks.
struct HooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hooks",
        abstract:
            "Registers, verifies, lists and removes Podio webhooks on the mirrored apps (run --listen receives them).",
        subcommands: [HooksInstallCommand.self, HooksListCommand.self, HooksRemoveCommand.self])

    struct Row: Codable {
        var appID: Int
        var type: String
        var hookID: Int?
        var podio: String?
        var mirror: String
        var action: String?
        var lastEventAt: Date?
        var url: String

        init(_ line: HookLine) {
            appID = line.appID
            type = line.type
            hookID = line.hookID
            podio = line.podioStatus
            mirror = line.mirrorStatus.rawValue
            action = line.action?.rawValue
            lastEventAt = line.lastEventAt
            url = line.url
        }
    }

    /// Runs `body` with a `HookManager` over the process's HTTP client.
    static func withManager(
        _ global: GlobalOptions, _ podio: PodioOptions, _ scope: HooksScopeOptions,
        _ body: (HookManager) async throws -> [HookLine]
    ) async throws -> [HookLine] {
        let settings = try global.settings(podio, scope)
        let manager = HookManager(
            settings: settings, transport: CommandEnvironment.transport(settings),
            logger: global.logger("podio-mirror.hooks"))
        return try await body(manager)
    }

    static func print(_ lines: [HookLine], json: Bool, withAction: Bool) throws {
        if json {
            try CommandRunner.printJSON(lines.map(Row.init))
            return
        }
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
        CommandRunner.print(
            pad("APP ID", 12) + pad("TYPE", 16) + pad("HOOK ID", 12) + pad("PODIO", 10) + pad("MIRROR", 22)
                + (withAction ? pad("DONE", 24) : pad("LAST EVENT", 22)) + "URL")
        for line in lines {
            CommandRunner.print(
                pad(String(line.appID), 12) + pad(line.type, 16) + pad(line.hookID.map(String.init) ?? "-", 12)
                    + pad(line.podioStatus ?? "-", 10) + pad(line.mirrorStatus.rawValue, 22)
                    + (withAction
                        ? pad(line.action?.rawValue ?? "-", 24) : pad(MirrorStatus.format(line.lastEventAt), 22))
                    + line.url)
        }
    }
}

struct HooksInstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Registers the hooks on every mirrored app at URL/hooks/<secret> and completes Podio's verification.",
        discussion: """
            URL is the public address Podio reaches (ports 80 or 443: a reverse proxy or a tunnel in front of \
            `podio-mirror run --listen`). Verification needs that receiver running: Podio posts hook.verify to \
            the URL and the mirror answers it. Running install again is safe: hooks in place are kept, \
            inactive ones asked to verify again, missing ones created.

            """ + SettingCatalog.help(for: SettingCatalog.Command.hooksInstall))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var podio: PodioOptions
    @OptionGroup var scope: HooksScopeOptions

    @Option(name: .long, help: "The public base URL that reaches `run --listen` (e.g. https://mirror.example.com).")
    var url: String

    @Option(name: .long, help: "How long to wait for the verification (default 15s).")
    var wait: String = "15s"

    @Flag(name: .long, help: "Print the hooks as JSON.")
    var json = false

    func validate() throws {
        if DurationParser.seconds(wait) == nil { throw ValidationError("--wait must be a duration such as 15s") }
    }

    func run() async throws {
        try await CommandRunner.execute {
            let seconds = DurationParser.seconds(wait) ?? 15
            let lines = try await HooksCommand.withManager(global, podio, scope) {
                try await $0.install(url: url, wait: seconds)
            }
            try HooksCommand.print(lines, json: json, withAction: true)
            let live = lines.filter { $0.action != .removed }
            let pending = live.filter { $0.mirrorStatus != .verified }
            if pending.isEmpty {
                if !json {
                    CommandRunner.print("all \(live.count) hooks are active; `run --listen` applies their events")
                }
                return
            }
            // Exit 75 (try again later): registered, not verified yet.
            FileHandle.standardError.write(
                Data(
                    ("podio-mirror: \(pending.count) of \(live.count) hooks await verification: Podio posts hook.verify to the URL and "
                        + "the receiver of `podio-mirror run --listen` behind it validates it. Start `run --listen` where the URL "
                        + "reaches it (a running one asks Podio to verify again once its receiver answers its self-check at the URL, "
                        + "backing off per hook), or run `podio-mirror hooks install` again once it runs; `podio-mirror hooks list` "
                        + "shows the state\n")
                        .utf8))
            throw ExitCode(75)
        }
    }
}

struct HooksListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Shows each hook as Podio (asked now, one general call per app) and the mirror see it.",
        discussion: SettingCatalog.help(for: SettingCatalog.Command.hooksList))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var podio: PodioOptions
    @OptionGroup var scope: HooksScopeOptions

    @Flag(name: .long, help: "Print the hooks as JSON.")
    var json = false

    func run() async throws {
        try await CommandRunner.execute {
            let lines = try await HooksCommand.withManager(global, podio, scope) { try await $0.list() }
            try HooksCommand.print(lines, json: json, withAction: false)
            if lines.isEmpty && !json {
                CommandRunner.print("no hooks (`podio-mirror hooks install --url URL` registers them)")
            }
        }
    }
}

struct HooksRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Deletes the mirror's hooks in Podio and in podio.hooks (the delta keeps the mirror in step).",
        discussion: SettingCatalog.help(for: SettingCatalog.Command.hooksRemove))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var podio: PodioOptions
    @OptionGroup var scope: HooksScopeOptions

    @Flag(name: .long, help: "Print the removed hooks as JSON.")
    var json = false

    func run() async throws {
        try await CommandRunner.execute {
            let lines = try await HooksCommand.withManager(global, podio, scope) { try await $0.remove() }
            try HooksCommand.print(lines, json: json, withAction: true)
            if !json { CommandRunner.print("\(lines.count) hook\(lines.count == 1 ? "" : "s") removed") }
        }
    }
}
