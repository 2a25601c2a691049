import Foundation

/// Wall-clock time and sleeps, injectable so that tests run token lifetimes, retry deadlines and
/// quota windows without real sleeps. The client and its authenticator, the token store, the
/// quota ledger and a run read the time through it; `SystemClock` in production, a clock that
/// jumps in tests.
public protocol WallClock: Sendable {
    func now() -> Date
    /// Sleeps until `deadline` (or returns at once if it has passed).
    func sleep(until deadline: Date) async throws
}

extension WallClock {
    /// Sleeps for `seconds` from now.
    public func sleep(seconds: Double) async throws {
        try await sleep(until: now().addingTimeInterval(seconds))
    }
}

/// Wall-clock time and real sleeps. Processes that share a database should keep their clocks
/// in step (NTP): the ledger compares the times they record.
public struct SystemClock: WallClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds > 0 { try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded(.up)))) }
    }
}
