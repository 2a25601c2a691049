import Foundation
import LibPQ
import Logging
import PodioAPI

/// Keeps OAuth token pairs in `podio_auth.oauth_tokens`, so cron runs reuse them instead of
/// logging in each time. A refreshed pair replaces the old one in one statement (refresh tokens
/// rotate: the old one no longer works once Podio handed out the new one).
///
/// Podio's token endpoint has its own throttle (reference §3.4, §12), so every process that
/// shares the database also shares the way to it (`renew`):
/// - one process at a time renews an identity (a session advisory lock), and a process that
///   waited for another uses the token the other stored instead of asking Podio again;
/// - a grant with credentials (password or app) is made at most once per `grantInterval` per
///   identity (`podio_auth.token_requests.granted_at`); a refresh is never held back by it;
/// - a 420 of the token endpoint pauses the identity for the wait Podio names (or the
///   cool-down): no process asks the endpoint again before then, and the quota ledger pauses
///   the identity's calls too, like after any 420. The run is deferred (`TokenDeferral`).
public struct PostgresTokenStore: TokenStore {
    let db: PGConnection
    /// The least time between two grants with credentials for one identity, in seconds.
    let grantInterval: Double
    /// The pause after a 420 whose text names no wait, in seconds.
    let coolDown: Double
    /// How long a process waits while another renews the same identity, in seconds.
    let lockWait: Double
    let logger: Logger
    /// The time of grants, pauses and token expiry (the run's clock).
    let clock: any WallClock

    /// Five minutes: the wait the captured 420 of the token endpoint named.
    public static let defaultGrantInterval: Double = 300

    public init(
        db: PGConnection, grantInterval: Double = PostgresTokenStore.defaultGrantInterval, coolDown: Double = 300,
        lockWait: Double = 150, clock: any WallClock = SystemClock(), logger: Logger? = nil
    ) {
        self.db = db
        self.grantInterval = grantInterval
        self.coolDown = coolDown
        self.lockWait = lockWait
        self.clock = clock
        self.logger = logger ?? db.logger
    }

    public func load(identity: String) async throws -> OAuthToken? {
        try await db.run { db in try Self.load(db, identity: identity) }
    }

    static func load(_ db: PGConnection, identity: String) throws -> OAuthToken? {
        guard
            let row = try db.query(
                """
                SELECT access_token, refresh_token, extract(epoch FROM expires_at)::float8 AS expires, ref_type, ref_id
                FROM podio_auth.oauth_tokens WHERE credential = $1
                """, [identity]
            ).first, let access = row.string("access_token"), let expires = row.double("expires")
        else { return nil }
        return OAuthToken(
            accessToken: access, refreshToken: row.string("refresh_token"), expiresAt: expires,
            refType: row.string("ref_type"), refID: row.int("ref_id"))
    }

    public func save(_ token: OAuthToken, identity: String) async throws {
        _ = try await db.run { db in try Self.save(db, token, identity: identity) }
    }

    static func save(_ db: PGConnection, _ token: OAuthToken, identity: String) throws {
        try db.query(
            """
            INSERT INTO podio_auth.oauth_tokens (credential, access_token, refresh_token, expires_at, ref_type, ref_id, updated_at)
            VALUES ($1, $2, $3, to_timestamp($4::float8), $5, $6, now())
            ON CONFLICT (credential) DO UPDATE SET access_token = EXCLUDED.access_token,
                refresh_token = EXCLUDED.refresh_token, expires_at = EXCLUDED.expires_at,
                ref_type = EXCLUDED.ref_type, ref_id = EXCLUDED.ref_id, updated_at = now()
            """, [identity, token.accessToken, token.refreshToken, token.expiresAt, token.refType, token.refID])
    }

    /// Forgets the tokens of an identity (after Podio refused them for good).
    public func forget(identity: String) async throws {
        _ = try await db.run { db in
            try db.query("DELETE FROM podio_auth.oauth_tokens WHERE credential = $1", [identity])
        }
    }

    public func renew(
        identity: String, kind: TokenRenewal, replacing current: OAuthToken?,
        _ request: @escaping @Sendable () async throws -> OAuthToken
    ) async throws -> OAuthToken {
        try await lock(identity)
        let result: Result<OAuthToken, any Error>
        do {
            result = .success(try await renewHoldingLock(identity: identity, kind: kind, replacing: current, request))
        } catch {
            result = .failure(error)
        }
        let key = LockKeys.token(identity)
        // A connection that is gone took the lock with it.
        _ = try? await db.run { db in try db.advisoryUnlock(key) }
        return try result.get()
    }

    /// Waits (polling, so the connection stays free for the ledger's statements) until no other
    /// process renews this identity.
    private func lock(_ identity: String) async throws {
        let key = LockKeys.token(identity)
        let started = clock.now()
        var waited = false
        while true {
            let locked = try await db.run { db in try db.tryAdvisoryLock(key) }
            if locked { return }
            if !waited {
                logger.debug("another process renews the token; waiting for it", metadata: ["identity": "\(identity)"])
                waited = true
            }
            if clock.now().timeIntervalSince(started) > lockWait {
                throw TokenDeferral(
                    identity: identity, freesAt: clock.now().addingTimeInterval(60),
                    reason:
                        "another podio-mirror process has been renewing the token of \(identity) for over \(Int(lockWait)) s"
                )
            }
            try await clock.sleep(seconds: 0.1)
        }
    }

    private func renewHoldingLock(
        identity: String, kind: TokenRenewal, replacing current: OAuthToken?,
        _ request: @escaping @Sendable () async throws -> OAuthToken
    ) async throws -> OAuthToken {
        let now = clock.now()
        let (stored, record) = try await db.run { db in
            (try Self.load(db, identity: identity), try Self.requestRecord(db, identity: identity))
        }
        // Another process renewed while this one found its token stale or refused: use that.
        if let stored, stored.accessToken != current?.accessToken, stored.expiresAt > now.timeIntervalSince1970 + 1 {
            logger.debug("using the token another process stored", metadata: ["identity": "\(identity)"])
            return stored
        }
        if !record.tracked {
            logger.warning(
                "podio_auth.token_requests is missing (the schema predates it): token requests are not paced across processes",
                metadata: ["identity": "\(identity)"])
        }
        if let until = record.pausedUntil, until > now {
            throw TokenDeferral(
                identity: identity, freesAt: until, reason: record.pauseReason ?? "Podio's token endpoint answered 420")
        }
        if kind == .grant, let last = record.grantedAt, now.timeIntervalSince(last) < grantInterval {
            throw TokenDeferral(
                identity: identity, freesAt: last.addingTimeInterval(grantInterval),
                reason: "a token was granted for \(identity) at \(PodioTime.format(last)) UTC and is no longer usable; "
                    + "podio-mirror asks for at most one grant per identity every \(DurationParser.describe(grantInterval)) "
                    + "(Podio throttles logins); if this repeats, check the credentials")
        }
        let fresh: OAuthToken
        do {
            fresh = try await request()
        } catch let error as PodioError where error.kind == .rateLimited {
            let wait = error.retryAfterSeconds.map(Double.init) ?? coolDown
            let until = clock.now().addingTimeInterval(wait)
            let reason =
                "Podio's token endpoint answered \(error.status.map(String.init) ?? "420") (\(error.detail.isEmpty ? "rate_limit" : error.detail))"
            try await db.run { db in
                try db.withTransaction { db in
                    if record.tracked {
                        try db.query(
                            """
                            INSERT INTO podio_auth.token_requests (credential, paused_until, pause_reason) VALUES ($1, $2, $3)
                            ON CONFLICT (credential) DO UPDATE SET
                                paused_until = GREATEST(podio_auth.token_requests.paused_until, $2), pause_reason = $3
                            """, [identity, until, reason])
                    }
                    // Like any 420: the identity's calls pause too (`status` shows it).
                    try QuotaLedger.recordPause(
                        db, identity: identity, tiers: QuotaTier.allCases, until: until, reason: reason)
                }
            }
            logger.notice(
                "Podio throttles its token endpoint; the identity is paused",
                metadata: [
                    "identity": "\(identity)", "until": "\(PodioTime.format(until))",
                ])
            throw TokenDeferral(identity: identity, freesAt: until, reason: reason)
        }
        // The pair and the grant's time in one transaction: a process that waited for the lock
        // finds both.
        let grantedAt = clock.now()
        try await db.run { db in
            try db.withTransaction { db in
                try Self.save(db, fresh, identity: identity)
                if kind == .grant && record.tracked {
                    try db.query(
                        """
                        INSERT INTO podio_auth.token_requests (credential, granted_at) VALUES ($1, $2)
                        ON CONFLICT (credential) DO UPDATE SET granted_at = $2
                        """, [identity, grantedAt])
                }
            }
        }
        return fresh
    }

    struct RequestRecord: Sendable {
        /// False when `podio_auth.token_requests` does not exist: a database migrated by an
        /// earlier build of the same schema version (`migrate` is a no-op at an equal version).
        var tracked = true
        var grantedAt: Date?
        var pausedUntil: Date?
        var pauseReason: String?
    }

    static func requestRecord(_ db: PGConnection, identity: String) throws -> RequestRecord {
        let exists = try db.query("SELECT to_regclass('podio_auth.token_requests') IS NOT NULL AS present").first?.bool(
            "present")
        guard exists == true else { return RequestRecord(tracked: false) }
        guard
            let row = try db.query(
                "SELECT granted_at, paused_until, pause_reason FROM podio_auth.token_requests WHERE credential = $1",
                [identity]
            ).first
        else { return RequestRecord() }
        return RequestRecord(
            grantedAt: row.date("granted_at"), pausedUntil: row.date("paused_until"),
            pauseReason: row.string("pause_reason"))
    }
}

/// No token may be asked of Podio for an identity now: its token endpoint answered 420 (and
/// named a wait), a grant was made too recently, or another process has been renewing for long.
public struct TokenDeferral: RunDeferral {
    public var identity: String
    public var freesAt: Date
    public var reason: String

    public init(identity: String, freesAt: Date, reason: String) {
        self.identity = identity
        self.freesAt = freesAt
        self.reason = reason
    }

    public var description: String {
        "\(reason); podio-mirror asks Podio for no token for \(identity) before \(PodioTime.format(freesAt)) UTC"
    }
}
