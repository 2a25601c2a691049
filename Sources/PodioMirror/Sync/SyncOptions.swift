import Foundation

/// Options of one `sync` or `resync` run.
public struct SyncOptions: Sendable {
    public enum Kind: String, Sendable {
        /// Incremental: a delta per app; an app never fully synced gets a full load.
        case sync
        /// A full re-read of the selected apps, with deletion detection.
        case resync
    }

    /// How a run takes its apps from the runs it shares the database with.
    public enum Claiming: Sendable {
        /// Every app no other run holds, all at once at the start (a one-shot `sync`: runs of
        /// cron that overlap never split a set of apps; one that finds every app held exits 75).
        case allAtStart
        /// One app at a time, the next in need that no other run holds (the workers of `run`
        /// share the work: an app another worker holds is skipped and the next one taken).
        case oneAtATime
    }

    public var kind: Kind
    /// Apps chosen on the command line (`--app`); nil falls back to `PODIO_APPS`, then to every app.
    public var apps: [Int]?
    public var dryRun = false
    /// How long the run may wait for quota before it defers (seconds).
    public var maxWait: Double = 600
    public var claiming: Claiming = .allAtStart
    /// Asked between pages; when it answers true the run stops after the committed page
    /// (the scheduler's graceful shutdown).
    public var stopRequested: (@Sendable () -> Bool)?
    /// An app with active hooks gets a delta (its reconciliation) only when its last one is this
    /// old (`run`: `PODIO_RECONCILE_EVERY`); nil: every run (a one-shot `sync`).
    public var reconcileInterval: Double?
    /// The interval of the schedule the run belongs to (`run --every`); nil: a one-shot `sync`,
    /// whose schedule (cron) is read from the spacing of the last runs when it names no app.
    /// Turns are paced over it (`TurnPacer`).
    public var every: Double?

    public init(
        kind: Kind, apps: [Int]? = nil, dryRun: Bool = false, maxWait: Double = 600, claiming: Claiming = .allAtStart
    ) {
        self.kind = kind
        self.apps = apps
        self.dryRun = dryRun
        self.maxWait = maxWait
        self.claiming = claiming
    }
}
