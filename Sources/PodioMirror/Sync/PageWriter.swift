import Foundation
import Logging
import PodioAPI

/// Writes pages of items (`ItemStore.writePage`) for the walks and the hook worker: one
/// transaction a page, the time spent writing, and a warning line per item the mirror cannot
/// type in full.
final class PageWriter {
    let runID: Int64
    let items: ItemStore
    let logger: Logger
    let dryRun: Bool
    /// Keep the previous state of items whose revision moves (`podio.item_versions`).
    let keepHistory: Bool
    /// Seconds spent writing pages so far.
    private(set) var writeSeconds = 0.0

    init(runID: Int64, items: ItemStore, settings: RunSettings, logger: Logger) {
        self.runID = runID
        self.items = items
        self.logger = logger
        self.dryRun = settings.options.dryRun
        self.keepHistory = settings.keepHistory
    }

    /// Writes one page; returns what it did and how many warning lines it logged (one per item,
    /// naming its first problem; the raw JSON keeps everything). `app` is the definition a dry
    /// run writes with the page it rolls back; `watch` counts what no hook delivered.
    func write(
        appID: Int, page: ItemPage, checkpoint: ItemStore.Checkpoint, onlyNewer: Bool = false,
        app: PodioApp? = nil, watch: HookWatch? = nil
    ) async throws -> (outcome: PageOutcome, warnings: Int) {
        let (runID, dryRun, keepHistory) = (self.runID, self.dryRun, self.keepHistory)
        let body = String(decoding: page.body, as: UTF8.self)
        let total = page.total
        let stopwatch = Stopwatch()
        let outcome = try await items.run {
            try $0.writePage(
                appID: appID, runID: runID, body: body, checkpoint: checkpoint, podioTotal: total, dryRun: dryRun,
                app: app,
                keepHistory: keepHistory, onlyNewer: onlyNewer, missedByHooks: watch)
        }
        writeSeconds += stopwatch.seconds
        var warned = Set<Int>()
        for itemID in outcome.untitled where warned.insert(itemID).inserted {
            logger.warning("item \(itemID) of app \(appID) has no title; it is stored as Podio sent it")
        }
        for value in outcome.unreadable where warned.insert(value.itemID).inserted {
            logger.warning(
                "item \(value.itemID) of app \(appID): field \(value.fieldID) (\(value.type)) has a value podio-mirror cannot type; it is kept in the raw JSON"
            )
        }
        return (outcome, warned.count)
    }

    /// Items read one by one (`GET /item/{id}`), as one page to write.
    static func page(of raws: [Data]) throws -> ItemPage {
        var body = Data("{\"items\":[".utf8)
        body.append(contentsOf: raws.joined(separator: Data(",".utf8)))
        body.append(contentsOf: Data("]}".utf8))
        return try ItemPage(body: body)
    }
}
