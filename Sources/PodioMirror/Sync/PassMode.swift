/// How a pass reads an app (`podio.app_passes.mode`, `AppRunSummary.mode`).
public enum PassMode: String, Sendable, Codable {
    /// Every item, with deletion detection (a first sync, `resync`, or an unfinished full pass).
    case full
    /// The items edited since the high-water mark.
    case delta
    /// Every item of a small app (`PODIO_LISTING_MAX_ITEMS`), in one call up to 500 items:
    /// edits and deletions found together, the definition not read again. Costs what a delta
    /// does and spares the ID sweep a deletion would need.
    case listing
}
