import LibPQ

/// A store of one job's statements over one connection (`ItemStore`, `HookStore`, …, and
/// `MirrorStore`, which gives them all). Its methods are synchronous: async code calls them on
/// the connection's thread through `run`.
public protocol StoreSlice: Sendable {
    var db: PGConnection { get }

    init(db: PGConnection)
}

extension StoreSlice {
    /// Runs `body` with this store on its connection's thread: the way async code calls the
    /// store's synchronous methods (`try await store.run { try $0.liveCount(appID: id) }`).
    public func run<T: Sendable>(_ body: @escaping @Sendable (Self) throws -> T) async throws -> T {
        try await db.run { try body(Self(db: $0)) }
    }
}
