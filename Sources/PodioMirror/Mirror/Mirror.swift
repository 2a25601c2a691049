import Foundation
import LibPQ
import Logging
import PodioAPI
import Synchronization

/// The mirror's database as the commands and the listener of `run` see it: the one owner of
/// their connections (a small `ConnectionPool`) and of the statements behind migrate, status,
/// tables, dbt-sources, login, apps, the webhook receiver, the event worker, the worker record
/// and the health probe. A sync run's own connections are its `EngineSession`'s.
public final class Mirror: Sendable {
    public let settings: MirrorSettings
    let pool: ConnectionPool
    /// The time of "now" in the statements, and of the waits for an answer.
    let clock: any WallClock
    /// The longest wait for an answer, in seconds (nil: as long as the statement takes).
    let answerWithin: Double?
    let logger: Logger

    /// A command's mirror: one connection, made when first needed.
    public convenience init(settings: MirrorSettings, clock: any WallClock = SystemClock(), logger: Logger) {
        self.init(
            settings: settings, applicationName: "podio-mirror", maxConnections: 1, answerWithin: nil, clock: clock,
            logger: logger)
    }

    init(
        settings: MirrorSettings, applicationName: String, maxConnections: Int, answerWithin: Double?,
        clock: any WallClock, logger: Logger
    ) {
        self.settings = settings
        self.pool = ConnectionPool(
            url: settings.databaseURL, applicationName: applicationName, maxConnections: maxConnections,
            statementTimeout: answerWithin, logger: logger)
        self.answerWithin = answerWithin
        self.clock = clock
        self.logger = logger
    }

    /// The mirror of `run`'s short questions (the listener, the webhook receiver, the event
    /// worker's counts, the worker record): at most `Mirror.listenerConnections` connections,
    /// each statement cut off after 5 s and each answer awaited at most that long, so that a
    /// database that hangs answers 503 rather than nothing.
    public static func listener(settings: MirrorSettings, clock: any WallClock = SystemClock(), logger: Logger)
        -> Mirror
    {
        Mirror(
            settings: settings, applicationName: "podio-mirror listener", maxConnections: listenerConnections,
            answerWithin: 5, clock: clock, logger: logger)
    }

    /// Two: a slow `/metrics` never holds up an event the receiver queues.
    public static let listenerConnections = 2

    /// Closes the connections (a later question opens another).
    public func close() async {
        await pool.close()
    }

    /// The connections held now (idle and in use).
    public var connectionCount: Int {
        get async { await pool.count }
    }

    /// `body` on a connection of the pool, answered within `seconds` (default `answerWithin`).
    func run<T: Sendable>(within seconds: Double? = nil, _ body: @escaping @Sendable (PGConnection) throws -> T)
        async throws -> T
    {
        let pool = self.pool
        guard let seconds = seconds ?? answerWithin else { return try await pool.run(body) }
        return try await Self.within(seconds, clock: clock) { try await pool.run(body) }
    }

    /// The value of `work`, or an error once `seconds` have passed on `clock` (the work then goes
    /// on unobserved: a blocked libpq call cannot be interrupted; its connection goes back to the
    /// pool when it returns). A cancelled caller cancels the work (what has not started yet
    /// throws `CancellationError`).
    static func within<T: Sendable>(
        _ seconds: Double, clock: any WallClock, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let task = Task { try await work() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let once = Once()
                @Sendable func claim() -> Bool { once.claim() }
                let timer = Task {
                    try? await clock.sleep(until: clock.now().addingTimeInterval(seconds))
                    if !Task.isCancelled && claim() {
                        continuation.resume(
                            throwing: MirrorError(
                                .database, "the database did not answer within \(DurationParser.describe(seconds))"))
                    }
                }
                Task {
                    let result = await task.result
                    if claim() { continuation.resume(with: result) }
                    timer.cancel()
                }
            }
        } onCancel: {
            task.cancel()
        }
    }

    /// True for the first caller only.
    private final class Once: Sendable {
        private let done = Mutex(false)

        func claim() -> Bool {
            done.withLock { done in
                defer { done = true }
                return !done
            }
        }
    }
}
