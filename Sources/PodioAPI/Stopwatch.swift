/// How long something took, on the monotonic clock: for durations reported in logs, metrics and
/// run summaries, never for deciding when to call or what is due (that is `WallClock`'s job, so
/// that tests can move it). With `WallClock`, the one place the code reads a clock.
public struct Stopwatch: Sendable {
    private let started: ContinuousClock.Instant

    /// A stopwatch started now.
    public init() { started = ContinuousClock.now }

    /// Seconds since the stopwatch started.
    public var seconds: Double {
        let elapsed = ContinuousClock.now - started
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
