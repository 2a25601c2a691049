/// Bounded exponential backoff with full jitter for retryable failures.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// The first backoff, in seconds; each later one doubles, up to `maxDelay`.
    public var baseDelay: Double
    public var maxDelay: Double
    /// No retry starts after this many seconds since the first attempt.
    public var maxElapsed: Double

    public init(maxAttempts: Int = 5, baseDelay: Double = 0.5, maxDelay: Double = 20, maxElapsed: Double = 120) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxElapsed = maxElapsed
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1), jittered in [d/2, d].
    public func delay(after attempt: Int) -> Double {
        let exponential = min(maxDelay, baseDelay * Double(1 << min(attempt - 1, 20)))
        return exponential / 2 + Double.random(in: 0...(exponential / 2))
    }
}
