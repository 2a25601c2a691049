/// The mirror's view of one of its hooks (`HookLine.mirrorStatus`, printed by `hooks install`
/// and `hooks list`; the raw values are the words they print).
public enum HookVerification: String, Sendable, Codable {
    /// Podio verified the hook: its events reach the receiver.
    case verified
    /// Recorded, not verified yet (Podio delivers nothing until it is).
    case pending = "pending verification"
    /// Podio lists a hook of the mirror's URL that `podio.hooks` does not hold.
    case notRecorded = "not recorded"
    /// Removed by this command.
    case removed
}
