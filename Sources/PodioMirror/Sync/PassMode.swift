/// How a pass reads an app (`podio.app_passes.mode`, `AppRunSummary.mode`).
public enum PassMode: String, Sendable, Codable {
    /// Every item, with deletion detection (a first sync, `resync`, or an unfinished full pass).
    case full
    /// The items edited since the high-water mark.
    case delta
}
