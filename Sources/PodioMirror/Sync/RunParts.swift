import Foundation
import Logging
import PodioAPI

/// The parts of one run (or of the event worker's drain, `runID` 0), made in one place from a
/// session and the run's settings: the walks and their page writer, the hook worker, and the
/// extras (comments, files, deep history), each with only what it needs.
struct RunParts {
    let walks: RunContext
    let pages: PageWriter
    let hooks: HookEventWorker
    /// The comment stage (nil: comments are not mirrored).
    let comments: CommentReader?
    /// File downloads (nil: `PODIO_FILES` is not set).
    let files: FileFetcher?
    /// Deep history (nil: `PODIO_DEEP_HISTORY` is off).
    let deepHistory: DeepHistoryReader?

    init(
        runID: Int64, settings: RunSettings, session: EngineSession, clock: any WallClock, observer: SyncObserver?,
        metrics: MirrorMetrics, logger: Logger
    ) {
        let store = MirrorStore(db: session.db)
        let (ledger, access) = (session.ledger, session.access)
        let stop = settings.options.stopRequested
        pages = PageWriter(runID: runID, items: store.items, settings: settings, logger: logger)
        walks = RunContext(
            runID: runID, settings: settings, store: store, pages: pages, ledger: ledger, access: access, clock: clock,
            logger: logger, observer: observer, metrics: metrics)
        comments =
            settings.comments
            ? CommentReader(
                store: store, ledger: ledger, access: access, clock: clock, logger: logger, stopRequested: stop) : nil
        files = settings.filesDirectory.map {
            FileFetcher(
                store: store, ledger: ledger, access: access, clock: clock, logger: logger, directory: $0,
                stopRequested: stop)
        }
        deepHistory =
            settings.deepHistory.isOff
            ? nil
            : DeepHistoryReader(
                store: store, ledger: ledger, access: access, clock: clock, logger: logger, observer: observer,
                setting: settings.deepHistory, stopRequested: stop)
        hooks = HookEventWorker(
            store: store, ledger: ledger, access: access, clock: clock, logger: logger, metrics: metrics, walks: walks,
            pages: pages, comments: comments, files: files, overlap: settings.overlap,
            deltaThreshold: settings.hookDeltaThreshold)
    }
}
