import PodioAPI
import Synchronization

/// Requests allowed: `rate` a second, up to `burst` at once.
final class TokenBucket: Sendable {
    let rate: Double
    let burst: Double
    /// Measures the time between requests (`at`: seconds since the bucket was made).
    private let stopwatch = Stopwatch()
    private let state: Mutex<(tokens: Double, at: Double)>

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        state = Mutex((burst, 0))
    }

    func take() -> Bool {
        let now = stopwatch.seconds
        return state.withLock { s in
            s.tokens = min(burst, s.tokens + max(0, now - s.at) * rate)
            s.at = max(s.at, now)
            guard s.tokens >= 1 else { return false }
            s.tokens -= 1
            return true
        }
    }
}
