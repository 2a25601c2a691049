/// What one reconciliation of the hooks with Podio found (`HookManager.check`).
public struct HookCheck: Sendable, Equatable {
    /// The hooks as checked (empty when the round was skipped).
    public var lines: [HookLine] = []
    /// Whether the receiver answered its self-check at the hook URL (nil: not asked, nothing
    /// recorded). While it does not, no hook is asked to verify again.
    public var receiverAnswered: Bool?
    /// Another process held the registrations (an install): nothing was checked.
    public var busy = false

    public init(lines: [HookLine] = [], receiverAnswered: Bool? = nil, busy: Bool = false) {
        self.lines = lines
        self.receiverAnswered = receiverAnswered
        self.busy = busy
    }
}
