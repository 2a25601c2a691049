import Synchronization

/// Requests allowed: `rate` a second, up to `burst` at once.
final class TokenBucket: Sendable {
    let rate: Double
    let burst: Double
    private let state: Mutex<(tokens: Double, at: ContinuousClock.Instant)>

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        state = Mutex((burst, ContinuousClock.now))
    }

    func take() -> Bool {
        state.withLock { s in
            let now = ContinuousClock.now
            let elapsed = now - s.at
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            s.tokens = min(burst, s.tokens + seconds * rate)
            s.at = now
            guard s.tokens >= 1 else { return false }
            s.tokens -= 1
            return true
        }
    }
}
