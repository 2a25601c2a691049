import LibPQ
import Logging

/// At most `maxConnections` connections to the mirror's database, made when first needed and
/// kept for the next question; a connection that broke (`PGError.isConnectionLost`, or no longer
/// healthy) is dropped, and the next lease makes another. A lease waits while all are in use.
actor ConnectionPool {
    let url: String?
    let applicationName: String
    let maxConnections: Int
    /// `statement_timeout` of every connection, in seconds (nil: the server's).
    let statementTimeout: Double?
    let logger: Logger
    private var idle: [PGConnection] = []
    private var leased = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    init(
        url: String?, applicationName: String, maxConnections: Int, statementTimeout: Double?, logger: Logger
    ) {
        self.url = url
        self.applicationName = applicationName
        self.maxConnections = max(1, maxConnections)
        self.statementTimeout = statementTimeout
        self.logger = logger
    }

    /// Runs `body` on a leased connection (on libpq's thread pool), then gives the connection back.
    nonisolated func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await withConnection { db in try await db.run(body) }
    }

    /// Leases a connection for the whole of `body` (work that awaits in between statements),
    /// then gives it back.
    nonisolated func withConnection<T: Sendable>(_ body: @Sendable (PGConnection) async throws -> T) async throws
        -> T
    {
        let db = try await lease()
        do {
            let value = try await body(db)
            await giveBack(db, broken: false)
            return value
        } catch {
            await giveBack(db, broken: (error as? PGError)?.isConnectionLost == true)
            throw error
        }
    }

    /// Closes the idle connections; those in use close when given back.
    func close() {
        closed = true
        for db in idle { db.close() }
        idle = []
    }

    /// The connections held now (idle and in use).
    var count: Int { idle.count + leased }

    private func lease() async throws -> PGConnection {
        while idle.isEmpty && leased >= maxConnections {
            await withCheckedContinuation { waiting.append($0) }
        }
        leased += 1
        while let db = idle.popLast() {
            if db.isHealthy { return db }
            db.close()
        }
        do {
            let db = try await PGConnection.connect(url, applicationName: applicationName, logger: logger)
            if let statementTimeout {
                let milliseconds = Int((statementTimeout * 1000).rounded())
                _ = try await db.run { try $0.execute("SET statement_timeout = \(milliseconds)") }
            }
            return db
        } catch {
            leased -= 1
            wakeOne()
            throw error
        }
    }

    private func giveBack(_ db: PGConnection, broken: Bool) {
        leased -= 1
        if broken || closed || !db.isHealthy {
            db.close()
        } else {
            idle.append(db)
        }
        wakeOne()
    }

    private func wakeOne() {
        if !waiting.isEmpty { waiting.removeFirst().resume() }
    }
}
