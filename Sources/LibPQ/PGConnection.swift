import CLibPQ
import Foundation
import Logging
import NIOPosix
import Synchronization

/// One connection to PostgreSQL through libpq.
///
/// The `PGconn` handle lives in a `Mutex` (as its address, 0 once closed, because
/// `OpaquePointer` is not `Sendable`), so the class is `Sendable` without `@unchecked`: libpq
/// allows one thread at a time on a connection, and the lock enforces exactly that.
/// The synchronous methods block; async code calls them inside `run(_:)`, which moves the work
/// onto a dedicated thread pool so the cooperative pool never waits on the database.
public final class PGConnection: Sendable {
    private let handle: Mutex<UInt>
    private let secrets: ConnectionSecrets
    /// Held for the whole of a `run` closure, so that the statements of one closure (a
    /// transaction, say) never interleave with another task's on the same connection.
    private let session = Mutex(())
    public let logger: Logger

    /// Threads for blocking libpq calls. Sized above the core count: a connection that waits for
    /// a lock holds its thread, and the engine keeps a few connections busy at once.
    static let threadPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()

    /// Opens a connection (blocking).
    ///
    /// - Parameters:
    ///   - connectionString: a libpq keyword/value string or URI (`DATABASE_URL`); `nil` or empty
    ///     means libpq's defaults (`PGHOST`, `PGPORT`, `PGUSER`, …).
    ///   - applicationName: shown in `pg_stat_activity` unless the string sets its own.
    /// - Throws: `PGError` of kind `.connectionFailed`, with the password redacted.
    public init(connectionString: String?, applicationName: String = "podio-mirror", logger: Logger) throws {
        self.logger = logger
        self.secrets = ConnectionSecrets(connectionString: connectionString)
        // Keywords before `dbname` are defaults the connection string may override.
        var keywords = ["fallback_application_name", "connect_timeout"]
        var values = [applicationName, "10"]
        if let connectionString, !connectionString.isEmpty {
            keywords.append("dbname")
            values.append(connectionString)
        }
        let conn: OpaquePointer? = Self.withCStringArray(keywords) { k in
            Self.withCStringArray(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let conn else {
            throw PGError(kind: .connectionFailed, message: "could not connect to PostgreSQL: libpq is out of memory")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = secrets.redact(Self.trimmed(PQerrorMessage(conn)))
            PQfinish(conn)
            var error = PGError(
                kind: .connectionFailed,
                message: "could not connect to PostgreSQL: \(message)",
                hint: "check DATABASE_URL (or PGHOST, PGPORT, PGUSER, PGDATABASE) and that the server is running")
            if let connectionString, !connectionString.isEmpty, !Self.parses(connectionString) {
                error.isInvalidConnectionString = true
            }
            throw error
        }
        // Server notices ("relation … already exists, skipping") would go to stderr by default.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        // libpq's own texts of an error (PQerrorMessage, PQresultErrorMessage) carry the
        // severity and primary message only: at the default verbosity they would append the
        // DETAIL, which can hold a row's values (see `PGError.detail`).
        PQsetErrorVerbosity(conn, PQERRORS_TERSE)
        handle = Mutex(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(conn))))
        try execute("SET client_encoding TO 'UTF8'; SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, YMD';")
        logger.debug("connected to PostgreSQL")
    }

    /// Whether libpq can parse a connection string (keywords and URI syntax; values such as
    /// `sslmode` are checked only when connecting).
    static func parses(_ connectionString: String) -> Bool {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let options = PQconninfoParse(connectionString, &errorMessage)
        if let errorMessage { PQfreemem(errorMessage) }
        guard let options else { return false }
        PQconninfoFree(options)
        return true
    }

    deinit {
        close()
    }

    /// Opens a connection without blocking the caller's thread.
    public static func connect(
        _ connectionString: String?, applicationName: String = "podio-mirror", logger: Logger
    ) async throws -> PGConnection {
        try await threadPool.runIfActive {
            try PGConnection(connectionString: connectionString, applicationName: applicationName, logger: logger)
        }
    }

    /// Runs blocking work with this connection on the libpq thread pool. Closures given to
    /// `run` on one connection run one at a time, each as a whole.
    public func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await Self.threadPool.runIfActive {
            try self.session.withLock { _ in try body(self) }
        }
    }

    /// Closes the connection; later calls throw `.closed`. Safe to call more than once.
    public func close() {
        handle.withLock { address in
            if let conn = OpaquePointer(bitPattern: address) { PQfinish(conn) }
            address = 0
        }
    }

    /// True while the connection is open and libpq considers it healthy.
    public var isHealthy: Bool {
        handle.withLock { address in OpaquePointer(bitPattern: address).map { PQstatus($0) == CONNECTION_OK } ?? false }
    }

    /// True when the connection is healthy and outside any transaction (none open, none aborted,
    /// no statement in flight): what a pool may lend again.
    public var isIdle: Bool {
        handle.withLock { address in
            OpaquePointer(bitPattern: address).map {
                PQstatus($0) == CONNECTION_OK && PQtransactionStatus($0) == PQTRANS_IDLE
            }
                ?? false
        }
    }

    /// Runs one statement with text-format parameters (`$1`, `$2`, …) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PGEncodable)?] = []) throws -> PGResult {
        let texts = parameters.map { $0?.pgText }
        return try withHandle { conn in
            let result: OpaquePointer? = Self.withOptionalCStringArray(texts) { values in
                PQexecParams(conn, sql, Int32(texts.count), nil, values, nil, nil, 0)
            }
            return try self.consume(result, conn: conn)
        }
    }

    /// Runs a script of one or more statements without parameters (migrations, `SET`, `BEGIN`).
    @discardableResult
    public func execute(_ script: String) throws -> PGResult {
        try withHandle { conn in try self.consume(PQexec(conn, script), conn: conn) }
    }

    // MARK: - Internals shared with the extensions

    /// Calls `body` with the open handle, holding the lock for the whole call.
    func withHandle<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        try handle.withLock { address -> T in
            guard let conn = OpaquePointer(bitPattern: address) else {
                throw PGError(kind: .closed, message: "the connection was used after it was closed")
            }
            return try body(conn)
        }
    }

    /// Copies a result out, clears it, and turns error statuses into `PGError`.
    func consume(_ result: OpaquePointer?, conn: OpaquePointer) throws -> PGResult {
        guard let result else { throw connectionError(conn) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.copyResult(result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            throw PGError(kind: .protocolViolation, message: "a COPY was started outside copyIn(_:_:)")
        default:
            throw serverError(result, conn: conn)
        }
    }

    func serverError(_ result: OpaquePointer, conn: OpaquePointer) -> PGError {
        func field(_ code: Int32) -> String? {
            guard let p = PQresultErrorField(result, code) else { return nil }
            return secrets.redact(String(cString: p))
        }
        let state = field(CLIBPQ_DIAG_SQLSTATE)
        let message = field(CLIBPQ_DIAG_MESSAGE_PRIMARY) ?? secrets.redact(Self.trimmed(PQresultErrorMessage(result)))
        var error = PGError(
            kind: .server, sqlState: state, message: message.isEmpty ? "unknown error" : message,
            detail: field(CLIBPQ_DIAG_MESSAGE_DETAIL), hint: field(CLIBPQ_DIAG_MESSAGE_HINT),
            constraint: field(CLIBPQ_DIAG_CONSTRAINT_NAME))
        // From libpq's own state, never from the message's text: a connection libpq gave up, or
        // an error libpq made itself (no SQLSTATE) after the socket went away.
        if PQstatus(conn) != CONNECTION_OK || (state == nil && PQsocket(conn) < 0) {
            error.kind = .connectionLost
        }
        return error
    }

    func connectionError(_ conn: OpaquePointer) -> PGError {
        let message = secrets.redact(Self.trimmed(PQerrorMessage(conn)))
        let lost = PQstatus(conn) != CONNECTION_OK
        return PGError(
            kind: lost ? .connectionLost : .protocolViolation,
            message: message.isEmpty ? "libpq returned no result" : message)
    }

    /// libpq's message on one line (it uses newlines and tabs between parts).
    static func trimmed(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer).split(whereSeparator: { $0 == "\n" || $0 == "\t" })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
    }

    private static func copyResult(_ result: OpaquePointer) -> PGResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var columns: [String] = []
        columns.reserveCapacity(columnCount)
        var index: [String: Int] = [:]
        for c in 0..<columnCount {
            let name = PQfname(result, Int32(c)).map { String(cString: $0) } ?? ""
            columns.append(name)
            if index[name] == nil { index[name] = c }
        }
        var rows: [PGRow] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, Int32(r), Int32(c)))
                    let bytes = PQgetvalue(result, Int32(r), Int32(c))
                    values.append(
                        bytes.map { p in
                            p.withMemoryRebound(to: UInt8.self, capacity: length) {
                                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                            }
                        } ?? "")
                }
            }
            rows.append(PGRow(values: values, columnIndex: index))
        }
        let affected = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        return PGResult(columns: columns, rows: rows, affectedRows: affected)
    }

    private static func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R)
        -> R
    {
        withOptionalCStringArray(strings + [nil]) { body($0!) }
    }

    /// Keeps copies of the strings alive (as a NULL-able `const char * const *`) for the call only.
    static func withOptionalCStringArray<R>(
        _ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
    ) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
        defer { for copy in copies { free(copy) } }
        let pointers = copies.map { $0.map { UnsafePointer($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
