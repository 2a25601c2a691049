import PodioAPI

/// The ledger's and the run's clock: the same `WallClock` the Podio client reads (PodioAPI),
/// `SystemClock` in production, a test clock in tests.
public typealias LedgerClock = WallClock
