import LibPQ

/// How a run ended, as `podio.sync_runs.status`, `sync --json` and the summary line say it.
public enum RunStatus: String, Sendable, Codable {
    /// Still running (or killed: `status` reports runs left so).
    case running
    case succeeded
    case failed
    /// Stopped for the quota or a signal; the next run continues.
    case deferred
}

extension RunStatus: PGEncodable {
    /// The stored word (`podio.sync_runs.status`).
    public var pgText: String { rawValue }
}
