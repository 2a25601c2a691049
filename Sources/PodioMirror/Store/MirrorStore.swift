import LibPQ

/// Every SQL statement of the engine (except the quota ledger's and the app tables' own, in
/// `AppTableStore`), over one connection, one store per job:
/// `try await store.run { try $0.items.liveCount(appID: id) }`.
public struct MirrorStore: StoreSlice {
    public let db: PGConnection

    public init(db: PGConnection) {
        self.db = db
    }

    /// Apps' definitions, sync state, pages, full passes, deltas, sweeps, live counts, deletions.
    public var items: ItemStore { ItemStore(db: db) }
    /// Runs and their passes over each app.
    public var runs: RunStore { RunStore(db: db) }
    /// Need, claims, the app list, gone apps, workers.
    public var scheduling: ScheduleStore { ScheduleStore(db: db) }
    /// Webhooks: the secret, the hooks, the event queue.
    public var hooks: HookStore { HookStore(db: db) }
    /// Items' comments.
    public var comments: CommentStore { CommentStore(db: db) }
    /// Items' deep history.
    public var history: HistoryStore { HistoryStore(db: db) }
    /// The files to download.
    public var files: FileStore { FileStore(db: db) }
    /// What the extras could not read.
    public var failures: ExtraFailureStore { ExtraFailureStore(db: db) }
}
