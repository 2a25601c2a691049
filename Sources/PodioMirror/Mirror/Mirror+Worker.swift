import Foundation
import LibPQ

/// The row of a `run` worker in `podio.workers` (its schedule and heartbeat), and the
/// reconciliations its schedule waits for.
extension Mirror {
    /// Records this process as a worker (the schema must be current); its id.
    public func registerWorker(every: Double, resyncEvery: Double?, listen: String?) async throws -> Int64 {
        let host = ProcessInfo.processInfo.hostName
        let pid = Int(ProcessInfo.processInfo.processIdentifier)
        return try await run {
            try SchemaMigrator.requireCurrent($0)
            return try MirrorStore(db: $0).scheduling.registerWorker(
                host: host, pid: pid, every: every, resyncEvery: resyncEvery, listen: listen)
        }
    }

    /// The worker's heartbeat.
    public func workerSeen(_ workerID: Int64) async throws {
        try await run { try MirrorStore(db: $0).scheduling.workerSeen(workerID) }
    }

    /// The worker stopped.
    public func workerStopped(_ workerID: Int64) async throws {
        try await run { try MirrorStore(db: $0).scheduling.workerStopped(workerID) }
    }

    /// The apps with active hooks (among `apps`) and when each one's reconciliation is due.
    public func reconciliationsDue(interval: Double, apps: [Int]?) async throws -> [Int: Date] {
        try await run { try MirrorStore(db: $0).hooks.reconciliationsDue(interval: interval, apps: apps) }
    }
}
