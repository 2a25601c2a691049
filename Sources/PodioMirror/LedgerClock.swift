import Foundation

/// The ledger's notion of time, injectable so tests run a quota window without real sleeps.
public protocol LedgerClock: Sendable {
    func now() -> Date
    /// Sleeps until `deadline` (or returns at once if it has passed).
    func sleep(until deadline: Date) async throws
}

/// Wall-clock time and real sleeps. Processes that share a database should keep their clocks
/// in step (NTP): the ledger compares the times they record.
public struct SystemClock: LedgerClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds > 0 { try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded(.up)))) }
    }
}
