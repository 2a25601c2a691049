/// Webhooks in Swift: the same controls as `/_sim/hooks`.
extension PodioSimulator {
    /// Every hook ever made (deleted ones flagged), with its delivery counters.
    public func hooks() -> [HookInfo] {
        core.state.withLock { $0.hooks.hooks.map(\.info) }
    }

    /// Replaces the delivery faults (and restarts their seeded sequence).
    public func setHookFaults(_ faults: HookFaults) {
        core.state.withLock { $0.hooks.setFaults(faults) }
        core.dispatchHooks()
    }

    /// Turns a hook inactive (or active again) as if Podio had, without any verification.
    public func setHookActive(hookID: Int, _ active: Bool) throws {
        try withState { state throws(ControlError) in
            guard state.hooks.hook(hookID) != nil else { throw .invalid("no hook \(hookID)") }
            state.hooks.setActive(hookID, active)
        }
    }

    /// Sends the deliveries held for reordering now, without waiting for the window to fill.
    public func flushHeldHooks() {
        core.state.withLock { $0.hooks.releaseHeld() }
        core.dispatchHooks()
    }
}
