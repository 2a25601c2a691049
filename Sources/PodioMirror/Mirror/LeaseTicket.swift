import Synchronization

/// One timed question's lease: whether it holds a slot, finished, or was given up on; and
/// whether the caller got its answer or the timeout.
final class LeaseTicket: Sendable {
    private enum State { case waiting, leased, finished, abandoned }
    private let state = Mutex<(lease: State, answered: Bool)>((.waiting, false))

    /// The lease was granted; false when the question was given up on before.
    func attach() -> Bool {
        state.withLock {
            guard $0.lease == .waiting else { return false }
            $0.lease = .leased
            return true
        }
    }

    /// The work ended; false when the question was given up on (the slot was freed then).
    func finish() -> Bool {
        state.withLock {
            guard $0.lease == .leased else { return false }
            $0.lease = .finished
            return true
        }
    }

    /// The question is given up on; true when its lease was out (the caller frees the slot).
    func abandon() -> Bool {
        state.withLock {
            let held = $0.lease == .leased
            if $0.lease == .waiting || held { $0.lease = .abandoned }
            return held
        }
    }

    /// True for the first of the answer and the timeout.
    func claimAnswer() -> Bool {
        state.withLock { state in
            defer { state.answered = true }
            return !state.answered
        }
    }
}
