import Foundation
import LibPQ
import Logging

/// A fresh database on the server of `DATABASE_URL`, dropped when the bench is done with it.
struct BenchDatabase: Sendable {
    let name: String
    /// Connection string of this database.
    let url: String
    let serverURL: String

    static let logger = Logger(label: "podio-bench") { _ in SwiftLogNoOpLogHandler() }

    static func create(serverURL: String, label: String) async throws -> BenchDatabase {
        let name = "podio_bench_\(label)_\(ProcessInfo.processInfo.processIdentifier)"
        let admin = try await PGConnection.connect(serverURL, applicationName: "podio-bench", logger: logger)
        defer { admin.close() }
        try await admin.run { db in
            try db.execute("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
            try db.execute("CREATE DATABASE \"\(name)\"")
        }
        return BenchDatabase(name: name, url: Self.url(serverURL, database: name), serverURL: serverURL)
    }

    func connect() async throws -> PGConnection {
        try await PGConnection.connect(url, applicationName: "podio-bench", logger: Self.logger)
    }

    func drop() async {
        guard
            let admin = try? await PGConnection.connect(serverURL, applicationName: "podio-bench", logger: Self.logger)
        else { return }
        defer { admin.close() }
        _ = try? await admin.run { [name] in try $0.execute("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)") }
    }

    /// The same server with another database, for a URI or a keyword/value string.
    static func url(_ server: String, database: String) -> String {
        if server.contains("://"), var components = URLComponents(string: server) {
            components.path = "/" + database
            if let string = components.string { return string }
        }
        return server + " dbname=\(database)"
    }
}
