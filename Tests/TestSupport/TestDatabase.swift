import Foundation
import LibPQ
import Logging

/// A fresh database on the test server (the one `scripts/with-postgres.sh` started, or
/// `DATABASE_URL`), so that tests running in parallel never see each other's rows or locks.
public struct TestDatabase: Sendable {
    public let name: String
    /// Connection string for this database.
    public let url: String

    public static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// The server's connection string from the environment.
    public static var serverURL: String? {
        ProcessInfo.processInfo.environment["DATABASE_URL"]
    }

    /// Creates an empty database with a unique name.
    public static func create(prefix: String = "pm") async throws -> TestDatabase {
        guard let server = serverURL else {
            throw PGError(
                kind: .connectionFailed, message: "DATABASE_URL is not set: run the tests through `make test`")
        }
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let admin = try await PGConnection.connect(server, logger: logger)
        defer { admin.close() }
        _ = try await admin.run { try $0.execute("CREATE DATABASE \"\(name)\"") }
        return TestDatabase(name: name, url: Self.url(server, database: name))
    }

    /// Opens a connection to this database.
    public func connect() async throws -> PGConnection {
        try await PGConnection.connect(url, logger: Self.logger)
    }

    /// Drops the database (ends its other connections first).
    public func drop() async {
        guard let server = Self.serverURL, let admin = try? await PGConnection.connect(server, logger: Self.logger)
        else { return }
        defer { admin.close() }
        _ = try? await admin.run { try $0.execute("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)") }
    }

    /// The same server with another database name, for a URI or a keyword/value string.
    static func url(_ server: String, database: String) -> String {
        if server.contains("://"), var components = URLComponents(string: server) {
            components.path = "/" + database
            if let string = components.string { return string }
        }
        return server + " dbname=\(database)"
    }
}
