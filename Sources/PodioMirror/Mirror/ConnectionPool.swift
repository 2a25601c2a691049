import LibPQ
import Logging
import PodioAPI
import Synchronization

/// At most `maxConnections` connections to the mirror's database, made when first needed and
/// kept for the next question while they are idle (healthy, no transaction open or aborted); a
/// connection that broke (`PGError.isConnectionLost`, a protocol error, or not idle any more) is
/// closed, and the next lease makes another. A lease waits while all are in use.
///
/// With two connections or more, one is kept for the priority questions (the webhook receiver's:
/// a slow `/metrics` never delays an event). A question answered late (`run(within:)`) frees its
/// slot at once: a connection stuck in a network read cannot hold the pool; it is closed when
/// libpq returns.
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
    nonisolated func run<T: Sendable>(priority: Bool = false, _ body: @escaping @Sendable (PGConnection) throws -> T)
        async throws -> T
    {
        try await withConnection(priority: priority, ticket: nil) { db in try await db.run(body) }
    }

    /// `body` on a leased connection, or an error once `seconds` have passed on `clock`. A late
    /// question's slot is freed when the time is up; its connection is closed when `body`
    /// returns (a blocked libpq call cannot be interrupted). A cancelled caller cancels the
    /// work (what has not started yet throws `CancellationError`).
    nonisolated func run<T: Sendable>(
        within seconds: Double, clock: any WallClock, priority: Bool = false,
        _ body: @escaping @Sendable (PGConnection) throws -> T
    ) async throws -> T {
        let ticket = LeaseTicket()
        let task = Task { try await self.withConnection(priority: priority, ticket: ticket) { try await $0.run(body) } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let timer = Task {
                    try? await clock.sleep(until: clock.now().addingTimeInterval(seconds))
                    guard !Task.isCancelled, ticket.claimAnswer() else { return }
                    task.cancel()
                    await self.abandon(ticket)
                    continuation.resume(
                        throwing: MirrorError(
                            .database, "the database did not answer within \(DurationParser.describe(seconds))"))
                }
                Task {
                    let result = await task.result
                    if ticket.claimAnswer() { continuation.resume(with: result) }
                    timer.cancel()
                }
            }
        } onCancel: {
            task.cancel()
        }
    }

    /// Leases a connection for the whole of `body` (work that awaits in between statements),
    /// then gives it back.
    nonisolated func withConnection<T: Sendable>(
        priority: Bool = false, ticket: LeaseTicket? = nil, _ body: @Sendable (PGConnection) async throws -> T
    ) async throws -> T {
        let db = try await lease(priority: priority)
        if let ticket, !ticket.attach() {
            // The caller gave up while this lease waited: the slot goes back unused.
            await giveBack(db, broken: false)
            throw CancellationError()
        }
        do {
            let value = try await body(db)
            await finish(db, ticket: ticket, broken: false)
            return value
        } catch {
            let broken = (error as? PGError).map { $0.isConnectionLost || $0.kind == .protocolViolation } ?? false
            await finish(db, ticket: ticket, broken: broken)
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

    /// The slots a question may take: all for a priority one, all but one (when there are two
    /// or more) for the others.
    private func slots(priority: Bool) -> Int {
        priority || maxConnections < 2 ? maxConnections : maxConnections - 1
    }

    private func lease(priority: Bool) async throws -> PGConnection {
        while leased >= slots(priority: priority) {
            await withCheckedContinuation { waiting.append($0) }
        }
        try Task.checkCancellation()
        leased += 1
        while let db = idle.popLast() {
            if db.isIdle { return db }
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
            wakeAll()
            throw error
        }
    }

    /// The end of a lease: given back, unless its question was abandoned (its slot is free
    /// already): then the connection is closed.
    private func finish(_ db: PGConnection, ticket: LeaseTicket?, broken: Bool) {
        if let ticket, !ticket.finish() {
            db.close()
            return
        }
        giveBack(db, broken: broken)
    }

    /// A question answered late: its slot is freed now, if its lease is still out.
    private func abandon(_ ticket: LeaseTicket) {
        guard ticket.abandon() else { return }
        leased -= 1
        wakeAll()
    }

    private func giveBack(_ db: PGConnection, broken: Bool) {
        leased -= 1
        if broken || closed || !db.isIdle {
            db.close()
        } else {
            idle.append(db)
        }
        wakeAll()
    }

    /// Every waiter looks again (a priority one may take a slot the others may not).
    private func wakeAll() {
        let woken = waiting
        waiting = []
        for continuation in woken { continuation.resume() }
    }
}
