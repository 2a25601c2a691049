/// One item. Field values are not stored: they are generated from `valueSeed` and
/// `valueVersion` (deterministically) unless `rawFields` replaces them.
struct SimItem: Sendable {
    var itemID: Int
    var appItemID: Int
    var title: String
    var createdOn: Int
    /// `current_revision.created_on`; what the `last_edit_on` filter and sort use.
    var lastEditOn: Int
    var lastEventOn: Int
    var revision: Int
    var initialRevisionID: Int
    var currentRevisionID: Int
    var valueSeed: UInt64
    /// Bumped by edits, so generated values change.
    var valueVersion: UInt64 = 0
    /// Fields with an id at or above this have no value (they were added after the item was last written).
    var fieldLimit: Int
    /// Fields an edit emptied.
    var cleared: Set<Int> = []
    /// Field objects to serve verbatim instead of generated ones (bad-data tests).
    var rawFields: [JSON]? = nil
    var commentCount: Int = 0
    /// The comments, once one was made, edited or deleted through the control API; nil while
    /// they are the `commentCount` synthesized ones (see SimulatorState+Comments).
    var comments: [SimComment]? = nil
    /// Files attached through the control API (seeded items have none).
    var files: [SimFile] = []
    /// Items made through the control API have a value in every active field.
    var fillAll: Bool = false
    var deleted: Bool = false
    /// The app's revision when the current revision was made (`app_revision`).
    var appRevision: Int = 0
    /// Earlier revisions made through the control API, oldest first: revisions
    /// `revision - past.count ..< revision`. Revisions before those (a seeded item's edits)
    /// are synthesized (SimulatorState+Revisions), so a big dataset keeps no history.
    var past: [SimRevision] = []
    /// The rendered `fields` array of the short view (filter results); nil when it must be
    /// rendered again.
    var cachedFields: [UInt8]? = nil
    /// The app's render epoch the cache belongs to.
    var cacheEpoch: Int = -1
    /// The same for the full view (`GET /item/{id}`, the truth).
    var cachedFullFields: [UInt8]? = nil
    var fullCacheEpoch: Int = -1
}
