/// How a pass of an app ended (`podio.app_passes.status`).
public enum PassStatus: String, Sendable {
    case succeeded
    case failed
    /// The quota deferred the run.
    case deferred
    /// A signal stopped the run between pages.
    case stopped
    /// Podio no longer serves the app to these credentials (`AppGoneError`).
    case gone
}
