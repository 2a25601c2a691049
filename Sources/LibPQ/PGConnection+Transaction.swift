import CLibPQ

extension PGConnection {
    /// Runs `body` inside BEGIN … COMMIT; any error thrown rolls back and is rethrown. With
    /// `rollingBack`, the transaction ends with ROLLBACK instead of COMMIT once `body` returned
    /// (a dry run: the same statements run, nothing stays).
    ///
    /// A transaction that a failed statement left aborted is rolled back and reported, even when
    /// `body` swallowed that statement's error (PostgreSQL would answer COMMIT with ROLLBACK).
    public func withTransaction<T>(rollingBack: Bool = false, _ body: (PGConnection) throws -> T) throws -> T {
        try execute("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
        let aborted = try withHandle { PQtransactionStatus($0) == PQTRANS_INERROR }
        if aborted {
            _ = try? execute("ROLLBACK")
            throw PGError(
                kind: .protocolViolation, message: "the transaction was aborted by an earlier error and was rolled back"
            )
        }
        try execute(rollingBack ? "ROLLBACK" : "COMMIT")
        return value
    }

    /// Tries the session advisory lock `key`; true when this connection now holds it.
    public func tryAdvisoryLock(_ key: Int64) throws -> Bool {
        try query("SELECT pg_try_advisory_lock($1::bigint) AS locked", [key]).first?.bool("locked") ?? false
    }

    /// Releases a session advisory lock held by this connection.
    @discardableResult
    public func advisoryUnlock(_ key: Int64) throws -> Bool {
        try query("SELECT pg_advisory_unlock($1::bigint) AS unlocked", [key]).first?.bool("unlocked") ?? false
    }

    /// Waits for the transaction advisory lock `key`; it is released at COMMIT or ROLLBACK.
    public func advisoryTransactionLock(_ key: Int64) throws {
        try query("SELECT pg_advisory_xact_lock($1::bigint)", [key])
    }
}
