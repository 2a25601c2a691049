import Foundation
import LibPQ
import Logging
import PodioAPI

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

    /// `body` on a connection of the pool, answered within `seconds` (default `answerWithin`;
    /// past it, an error, and the pool frees the question's slot). `priority`: a question of the
    /// webhook receiver, which may take the pool's last connection.
    func run<T: Sendable>(
        within seconds: Double? = nil, priority: Bool = false, _ body: @escaping @Sendable (PGConnection) throws -> T
    ) async throws -> T {
        guard let seconds = seconds ?? answerWithin else { return try await pool.run(priority: priority, body) }
        return try await pool.run(within: seconds, clock: clock, priority: priority, body)
    }
}
