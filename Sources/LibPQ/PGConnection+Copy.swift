import CLibPQ
import Foundation

/// Writes rows of a `COPY … FROM STDIN` in PostgreSQL's text format.
///
/// Only valid inside the closure given to `PGConnection.copyIn(_:_:)`.
public struct PGCopyWriter: ~Copyable {
    fileprivate let conn: OpaquePointer
    fileprivate let connection: PGConnection
    fileprivate var buffer: [UInt8] = []
    fileprivate var failure: PGError?
    private static let flushSize = 256 * 1024

    fileprivate init(conn: OpaquePointer, connection: PGConnection) {
        self.conn = conn
        self.connection = connection
        buffer.reserveCapacity(Self.flushSize + 4096)
    }

    /// Appends one row; `nil` is SQL NULL. Tabs, newlines, carriage returns and backslashes are escaped.
    public mutating func writeRow(_ values: [String?]) throws {
        for (i, value) in values.enumerated() {
            if i > 0 { buffer.append(9) }
            guard let value else {
                buffer.append(contentsOf: [92, 78])  // \N
                continue
            }
            // The bytes between escapes are appended as runs, not one by one.
            let appended: Void? = value.utf8.withContiguousStorageIfAvailable { bytes in
                var start = 0
                for index in 0..<bytes.count {
                    guard let escaped = Self.escape(bytes[index]) else { continue }
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                    buffer.append(92)
                    buffer.append(escaped)
                    start = index + 1
                }
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))
            }
            if appended == nil {
                for byte in value.utf8 {
                    if let escaped = Self.escape(byte) {
                        buffer.append(92)
                        buffer.append(escaped)
                    } else {
                        buffer.append(byte)
                    }
                }
            }
        }
        buffer.append(10)
        if buffer.count >= Self.flushSize { try flush() }
    }

    /// The letter after the backslash for a byte `COPY`'s text format escapes, else nil.
    private static func escape(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 92: 92
        case 9: 116
        case 10: 110
        case 13: 114
        default: nil
        }
    }

    /// Sends what is buffered; checks libpq's return code.
    public mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        let status = buffer.withUnsafeBufferPointer { bytes in
            bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                PQputCopyData(conn, $0, Int32(bytes.count))
            }
        }
        buffer.removeAll(keepingCapacity: true)
        if status != 1 {
            let error = connection.connectionError(conn)
            failure = error
            throw error
        }
    }
}

extension PGConnection {
    /// Runs `COPY … FROM STDIN` and streams the rows `body` writes.
    ///
    /// Every libpq return code is checked and every result drained. If `body` throws, the COPY
    /// is aborted with `PQputCopyEnd(…, reason)` and nothing it wrote is kept.
    /// - Returns: the number of rows copied.
    @discardableResult
    public func copyIn(_ sql: String, _ body: (inout PGCopyWriter) throws -> Void) throws -> Int {
        try withHandle { conn in
            guard let start = PQexec(conn, sql) else { throw connectionError(conn) }
            let startStatus = PQresultStatus(start)
            if startStatus != PGRES_COPY_IN {
                defer { PQclear(start) }
                if startStatus == PGRES_FATAL_ERROR { throw serverError(start, conn: conn) }
                throw PGError(kind: .protocolViolation, message: "statement did not start COPY FROM STDIN")
            }
            PQclear(start)
            var writer = PGCopyWriter(conn: conn, connection: self)
            var bodyError: (any Error)?
            do {
                try body(&writer)
                try writer.flush()
            } catch {
                bodyError = error
            }
            let endStatus: Int32
            if let bodyError {
                endStatus = PQputCopyEnd(conn, "aborted by client: \(bodyError)")
            } else {
                endStatus = PQputCopyEnd(conn, nil)
            }
            // Drain every result until NULL, keeping the first error.
            var firstError: PGError? = endStatus == 1 ? nil : connectionError(conn)
            var copied = 0
            while let result = PQgetResult(conn) {
                let status = PQresultStatus(result)
                if status == PGRES_COMMAND_OK {
                    copied = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
                } else if firstError == nil {
                    firstError = serverError(result, conn: conn)
                }
                PQclear(result)
                if status == PGRES_COPY_IN {
                    // Should not happen after PQputCopyEnd; end again rather than loop forever.
                    _ = PQputCopyEnd(conn, "unexpected COPY state")
                }
            }
            if let bodyError { throw bodyError }
            if let firstError { throw firstError }
            return copied
        }
    }
}
