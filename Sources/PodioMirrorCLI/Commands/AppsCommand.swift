import ArgumentParser
import Foundation
import LibPQ
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
            let apiKey = try settings.requireAPIKey()
            let db = try await PGConnection.connect(settings.databaseURL, logger: logger)
            defer { db.close() }
            let mirrored = try await db.run { db -> [Int: Int] in
                try SchemaMigrator.requireCurrent(db)
                return try MirrorStore(db: db).items.liveCounts()
            }
            let ledgerDB = try await PGConnection.connect(settings.databaseURL, logger: logger)
            defer { ledgerDB.close() }
            let ledger = QuotaLedger(
                db: ledgerDB, policy: settings.quota, deadline: Date().addingTimeInterval(60), logger: logger)
            let transport = AsyncHTTPClientTransport(readTimeout: settings.requestTimeout)
            let access = PodioAccess(
                settings: settings, apiKey: apiKey, transport: transport,
                tokenStore: PostgresTokenStore(db: ledgerDB, coolDown: settings.quota.coolDown, logger: logger),
                gate: ledger, logger: logger)
            let result: Result<[Row], any Error>
            do {
                var rows: [Row] = []
                // Always asked of Podio, and cached for the runs (PODIO_APPS_REFRESH): an app
                // marked gone is tried again by the next run if Podio lists it.
                let before = await ledger.snapshot()
                let (visible, places) = try await access.visibleAppsAndPlaces()
                let calls = await ledger.snapshot().rateLimited - before.rateLimited
                let identity = access.listIdentity
                try await db.run {
                    try MirrorStore(db: $0).scheduling.storeAppList(
                        visible, places: places, identity: identity, callsRateLimited: calls, now: Date())
                }
                for app in visible {
                    var items = mirrored[app.appID]
                    if count { items = try await access.client(for: app.appID).itemCount(appID: app.appID) }
                    rows.append(
                        Row(
                            appID: app.appID, spaceID: app.spaceID, name: app.name, status: app.status, items: items,
                            itemsFrom: count ? "podio" : "mirror", mirrored: mirrored[app.appID] != nil))
                }
                result = .success(rows)
            } catch {
                result = .failure(error)
            }
            try? await transport.shutdown()
            let rows = try result.get()
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
