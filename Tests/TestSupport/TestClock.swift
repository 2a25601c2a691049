import Foundation
import PodioAPI
import Synchronization

/// A clock that jumps instead of sleeping, so a one-hour rule or a token's lifetime runs in
/// milliseconds. Sleeping moves it to the deadline at once; `advance` moves it as if time passed.
public final class TestClock: WallClock {
    private let current: Mutex<Date>
    private let slept = Mutex<[Double]>([])

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    public func sleep(until deadline: Date) async throws {
        try Task.checkCancellation()
        current.withLock { now in
            slept.withLock { $0.append(max(0, deadline.timeIntervalSince(now))) }
            now = max(now, deadline)
        }
    }

    public func advance(_ seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }

    /// Seconds slept in all (each sleep counts what was left until its deadline).
    public var totalSlept: Double { slept.withLock { $0.reduce(0, +) } }
}
