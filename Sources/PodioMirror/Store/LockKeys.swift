/// Advisory lock keys of podio-mirror, fixed so that every process agrees on them.
public enum LockKeys {
    /// Held (transaction-scoped) while `migrate` applies the schema.
    public static let migrate: Int64 = 0x706F_6469_6F01  // "podio" + 1
    /// Held (session-scoped) by the run that syncs an app; a second run that wants the same app
    /// exits with the deferred code. Runs of disjoint apps may sync together (the quota ledger
    /// keeps them within the quota together).
    public static func app(_ appID: Int) -> Int64 { 0x706F_6400_0000_0000 ^ Int64(appID) }
    /// Held (transaction-scoped) while a run claims its apps all at once (a one-shot `sync`), so
    /// that two runs started together cannot each take a part of the same set.
    public static let claims: Int64 = 0x706F_6469_6F04
    /// Held (session-scoped) while one process asks Podio for the app list, so that workers
    /// started together list the apps once.
    public static let appList: Int64 = 0x706F_6469_6F05
    /// Held (session-scoped) while a run reads deep history, so that runs (or `run` workers)
    /// that end together do not spend the quota twice on the same items.
    public static let deepHistory: Int64 = 0x706F_6469_6F06
    /// Held (transaction-scoped) while app tables change shape or name (names are decided
    /// from the whole set of apps, so one app's change can rename another's table).
    public static let tables: Int64 = 0x706F_6469_6F03
    /// Held (session-scoped) by the process draining the webhook event queue. (It once shared
    /// the deep-history key, so a worker draining hooks kept every run from reading history.)
    public static let hookQueue: Int64 = 0x706F_6469_6F08
    /// Held (session-scoped) while `hooks install` or `hooks remove` runs, or a worker checks the
    /// hooks with Podio: two of them would create the same hooks twice.
    public static let hooks: Int64 = 0x706F_6469_6F07
    /// Held (transaction-scoped) while a page writes `podio.profiles`: pages of runs of other
    /// apps name the same people, and would otherwise lock their rows in different orders.
    public static let profiles: Int64 = 0x706F_6469_6F1B
    /// Base of the per-credential quota ledger locks (transaction-scoped).
    public static let quotaBase: Int64 = 0x706F_6469_0000_0000
    /// Base of the per-credential token renewal locks (session-scoped, held while one process
    /// asks Podio's token endpoint, so that no two processes renew the same identity at once).
    public static let tokenBase: Int64 = 0x706F_6474_0000_0000

    /// FNV-1a of an identity, stable across processes and machines (Swift's Hasher is seeded
    /// per process), in the low 32 bits.
    static func hash(_ identity: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in identity.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash & 0x0000_0000_FFFF_FFFF)
    }

    /// Every fixed key, for the test that keeps them distinct.
    static let fixed: [Int64] = [migrate, tables, claims, appList, deepHistory, hooks, hookQueue]

    /// The token renewal lock of an identity.
    public static func token(_ identity: String) -> Int64 { tokenBase ^ hash(identity) }
}
