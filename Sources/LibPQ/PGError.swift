/// An error from libpq or the PostgreSQL server, with the server's diagnostic fields.
///
/// The description never contains the password of the connection string: messages that
/// libpq builds from the connection string are redacted before they reach this value.
public struct PGError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        fileprivate let raw: String
        /// The connection could not be opened.
        public static let connectionFailed = Kind(raw: "connection failed")
        /// The connection was lost or is no longer usable.
        public static let connectionLost = Kind(raw: "connection lost")
        /// The server reported an error for a statement.
        public static let server = Kind(raw: "server error")
        /// libpq or the wrapper saw something it did not expect (a wrong result status, a COPY call refused).
        public static let protocolViolation = Kind(raw: "protocol error")
        /// The connection was used after `close()`.
        public static let closed = Kind(raw: "connection closed")
        public var description: String { raw }
    }

    public var kind: Kind
    /// Five-character SQLSTATE when the server sent one (e.g. `23505`).
    public var sqlState: String?
    /// The primary message, without libpq's trailing newline.
    public var message: String
    /// The server's DETAIL. It can hold the values of a row (`Failing row contains (…)`,
    /// `Key (title)=(…) already exists`), so `description` leaves it out: read it here only
    /// where it is known to name objects, not data.
    public var detail: String?
    public var hint: String?
    public var constraint: String?
    /// The connection failed because libpq cannot parse the connection string itself (a
    /// configuration error, not a server that is down).
    public var isInvalidConnectionString = false

    public init(
        kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil,
        constraint: String? = nil
    ) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
    }

    /// True when an open connection is gone (the server closed it, restarted or crashed): nothing
    /// of the transaction in flight was committed, and the statement may be retried on a new
    /// connection. The one rule for a lost connection; a connection never made is `connectionFailed`.
    public var isConnectionLost: Bool {
        if kind == .connectionLost { return true }
        guard kind != .connectionFailed, let sqlState else { return false }
        // Class 08: connection exception; 57P01..57P03: admin shutdown, crash shutdown, cannot connect now.
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    /// `23505`: a unique constraint refused a row.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// `57014`: the statement was cancelled, usually by `statement_timeout`.
    public var isQueryCanceled: Bool { sqlState == "57014" }

    /// `55P03`: a lock could not be taken in time (`lock_timeout`, `NOWAIT`).
    public var isLockNotAvailable: Bool { sqlState == "55P03" }

    public var description: String {
        var text: String
        switch kind {
        case .connectionFailed: text = message
        case .connectionLost: text = "lost the PostgreSQL connection: \(message)"
        default: text = "PostgreSQL \(kind)\(sqlState.map { " [\($0)]" } ?? ""): \(message)"
        }
        // Not the detail (see `detail`); the constraint's name says which rule refused a row.
        if let constraint, !constraint.isEmpty { text += " (constraint \(constraint))" }
        if let hint, !hint.isEmpty { text += " (hint: \(hint))" }
        return text
    }
}
