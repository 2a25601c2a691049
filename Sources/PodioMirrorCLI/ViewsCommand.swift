import ArgumentParser
import LibPQ
import PodioMirror

struct ViewsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "views", abstract: "Rebuilds the typed per-app views in schema podio_views.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.views")
            let settings = try global.settings()
            let db = try await PGConnection.connect(settings.databaseURL, logger: logger)
            defer { db.close() }
            let names = try await db.run { db -> [String] in
                try SchemaMigrator.requireCurrent(db)
                return try ViewBuilder(db: db, logger: logger).rebuildAll()
            }
            CommandRunner.print("rebuilt \(names.count) view\(names.count == 1 ? "" : "s")\(names.isEmpty ? "" : ": " + names.map { "podio_views.\($0)" }.joined(separator: ", "))")
        }
    }
}
