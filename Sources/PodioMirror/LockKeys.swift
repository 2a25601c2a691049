/// Advisory lock keys of podio-mirror, fixed so that every process agrees on them.
public enum LockKeys {
    /// Held (transaction-scoped) while `migrate` applies the schema.
    public static let migrate: Int64 = 0x706F_6469_6F01  // "podio" + 1
    /// Held (session-scoped) by the run that syncs; a second run exits with the deferred code.
    public static let run: Int64 = 0x706F_6469_6F02
    /// Base of the per-credential quota ledger locks (transaction-scoped).
    public static let quotaBase: Int64 = 0x706F_6469_0000_0000
}
