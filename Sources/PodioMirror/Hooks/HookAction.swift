/// What `hooks install` (or the reconciliation of hooks) did about one hook (`HookLine.action`).
public enum HookAction: String, Sendable {
    /// Podio lists it for the mirror: kept as it is.
    case kept
    case created
    /// Inactive in Podio: asked to verify again.
    case verificationRequested = "verification requested"
    /// Inactive, and not asked to verify again while the receiver does not answer its self-check.
    case receiverNotAnswering = "receiver not answering"
    /// Inactive, and asked to verify again only once its back-off has passed.
    case backingOff = "backing off"
    /// Deleted (an older URL, a duplicate, or `hooks remove`).
    case removed
}
