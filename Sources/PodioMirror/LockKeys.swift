/// Advisory lock keys of podio-mirror, fixed so that every process agrees on them.
public enum LockKeys {
    /// Held (transaction-scoped) while `migrate` applies the schema.
    public static let migrate: Int64 = 0x706F_6469_6F01  // "podio" + 1
    /// Held (session-scoped) by the run that syncs an app; a second run that wants the same app
    /// exits with the deferred code. Runs of disjoint apps may sync together (the quota ledger
    /// keeps them within the quota together).
    public static func app(_ appID: Int) -> Int64 { 0x706F_6400_0000_0000 ^ Int64(appID) }
    /// Held (transaction-scoped) while app tables change shape or name (names are decided
    /// from the whole set of apps, so one app's change can rename another's table).
    public static let tables: Int64 = 0x706F_6469_6F03
    /// Base of the per-credential quota ledger locks (transaction-scoped).
    public static let quotaBase: Int64 = 0x706F_6469_0000_0000
}
