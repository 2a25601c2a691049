import ArgumentParser
import Foundation
import PodioAPI
import PodioMirror

struct AppsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apps",
        abstract:
            "Lists the apps the credentials can see (asking Podio, and refreshing the list the runs use): id, space, name, items, mirrored.",
        discussion: SettingCatalog.help(for: SettingCatalog.Command.apps))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var podio: PodioOptions

    @Flag(name: .long, help: "Ask Podio for each app's item count (one rate-limited call per app).")
    var count = false

    @Flag(name: .long, help: "Print the list as JSON.")
    var json = false

    struct Row: Codable {
        var appID: Int
        var spaceID: Int?
        var name: String
        var status: String?
        /// Podio's count with --count, else the mirror's live count (nil when not mirrored).
        var items: Int?
        var itemsFrom: String
        var mirrored: Bool
    }

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.apps")
            let settings = try global.settings(podio)
            _ = try settings.requireAPIKey()
            let listed = try await CommandEnvironment.mirror(settings, logger: logger).listApps(
                transport: CommandEnvironment.transport(settings), countItems: count)
            let rows = listed.map { listed in
                Row(
                    appID: listed.app.appID, spaceID: listed.app.spaceID, name: listed.app.name,
                    status: listed.app.status, items: count ? listed.podioItems : listed.mirroredItems,
                    itemsFrom: count ? "podio" : "mirror", mirrored: listed.mirroredItems != nil)
            }
            if json {
                try CommandRunner.printJSON(rows)
                return
            }
            CommandRunner.print("APP ID      SPACE       ITEMS     MIRRORED  NAME")
            for r in rows {
                let items = r.items.map(String.init) ?? "-"
                CommandRunner.print(
                    pad(String(r.appID), 12) + pad(r.spaceID.map(String.init) ?? "-", 12) + pad(items, 10)
                        + pad(r.mirrored ? "yes" : "no", 10) + r.name + (r.status == "inactive" ? " (inactive)" : ""))
            }
            if !count {
                CommandRunner.print(
                    "(items: the mirror's live count; --count asks Podio, one rate-limited call per app)")
            }
        }
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
