import Foundation

/// What the parts of a run (the walks, the page writer, the hook worker, the extras) read of the
/// settings and of the run's options, made in one place.
struct RunSettings: Sendable {
    var options: SyncOptions
    /// How far a delta reads back before the high-water mark (`PODIO_DELTA_OVERLAP`).
    var overlap: Double
    /// How long a gap between Podio's total and the mirror's live count that a sweep explained
    /// goes without another sweep (`PODIO_SWEEP_INTERVAL`).
    var sweepInterval: Double
    /// Keep the previous state of items whose revision moves (`podio.item_versions`).
    var keepHistory: Bool
    /// How long after an edit its hook delivery may still be on its way (not missed yet).
    var hookGrace: Double
    /// Pending changed items of one app from which one delta listing may serve them.
    var hookDeltaThreshold: Int
    /// Apps of at most this many live items are listed whole instead of by a delta.
    var listingMaxItems: Int
    /// Comments are mirrored (the comment stage runs; comment events read the item's comments).
    var comments: Bool
    /// Where attached files are downloaded (`PODIO_FILES`), or nil.
    var filesDirectory: String?
    /// The apps whose deep history is read (`PODIO_DEEP_HISTORY`).
    var deepHistory: DeepHistorySetting

    init(_ settings: MirrorSettings, options: SyncOptions) {
        self.options = options
        overlap = settings.deltaOverlap
        sweepInterval = settings.sweepInterval
        keepHistory = settings.history
        hookGrace = settings.hookGrace
        hookDeltaThreshold = settings.hookDeltaThreshold
        listingMaxItems = settings.listingMaxItems
        comments = settings.comments
        filesDirectory = settings.filesDirectory
        deepHistory = settings.deepHistory
    }
}
