import Foundation
import LibPQ
import Logging
import PodioAPI
import Synchronization

public typealias TierName = QuotaTier

/// The shared rate limiter: a ledger of calls in PostgreSQL (`podio.api_calls`).
///
/// Before each call, in a short transaction serialized per credential by an advisory lock, it
/// counts that credential's calls of the tier in the trailing window (plus calls the server
/// says someone else made) and records the call only while the count is under the quota less
/// the reserve. Otherwise it computes the exact moment enough calls leave the window and waits
/// until then, unless that is past the run's deadline: then it throws a deferral. Since every
/// process that shares the database shares the ledger, runs together never exceed the quota; a
/// rolling window that is never exceeded cannot exceed a clock-aligned one either.
public final class QuotaLedger: CallGate {
    private let db: PGConnection
    /// The quota this ledger enforces.
    public let policy: QuotaPolicy
    private let clock: any LedgerClock
    private let logger: Logger
    private let runID: Mutex<Int64?>
    /// The latest moment the run is willing to wait until (`--max-wait` from the run's start).
    private let deadline: Date?
    private let stats = LedgerStats()
    private let metrics: MirrorMetrics

    public init(
        db: PGConnection, policy: QuotaPolicy, clock: any LedgerClock = SystemClock(), runID: Int64? = nil,
        deadline: Date? = nil, metrics: MirrorMetrics = MirrorMetrics(), logger: Logger
    ) {
        self.metrics = metrics
        self.db = db
        self.policy = policy
        self.clock = clock
        self.runID = Mutex(runID)
        self.deadline = deadline
        self.logger = logger
    }

    /// Tags later calls with a run (a run is recorded once it holds its locks).
    public func attach(runID: Int64) {
        self.runID.withLock { $0 = runID }
    }

    /// Set for work that must never wait for the quota (comments): a call that would have to
    /// wait is refused at once with a `QuotaDeferral`, and the work is left for the next run.
    @TaskLocal public static var neverWait = false

    /// Calls made through this ledger instance, per tier, and the time spent waiting.
    public func snapshot() async -> LedgerStats.Snapshot { await stats.snapshot() }

    public func acquire(_ endpoint: PodioEndpoint, identity: String) async throws -> CallPermit {
        while true {
            let now = clock.now()
            let decision = try await decide(endpoint: endpoint, identity: identity, now: now)
            switch decision {
            case .granted(let id, let tier):
                await stats.count(tier)
                return CallPermit(id: id, endpoint: endpoint, tier: tier, identity: identity)
            case .wait(let until, let tier, let reason):
                if Self.neverWait || (deadline.map { until > $0 } ?? false) {
                    throw QuotaDeferral(tier: tier, freesAt: until, reason: reason)
                }
                logger.info(
                    "waiting for the quota",
                    metadata: [
                        "tier": "\(tier.rawValue)",
                        "seconds": "\(String(format: "%.1f", until.timeIntervalSince(now)))",
                        "reason": "\(reason)",
                    ])
                await stats.waited(max(0, until.timeIntervalSince(now)))
                try await clock.sleep(until: until)
            }
        }
    }

    public func complete(_ permit: CallPermit, status: Int?, headers: RateLimitHeaders, retryAfterSeconds: Int?) async {
        let now = clock.now()
        var counted = permit.tier
        defer { metrics.call(tier: counted, status: status) }
        do {
            counted = try await db.run { [policy, logger] db in
                try db.withTransaction { db -> TierName in
                    try db.advisoryTransactionLock(Self.lockKey(permit.identity))
                    var tier = permit.tier
                    if let limit = headers.limit, let learned = policy.tier(forLimit: limit) {
                        try db.query(
                            """
                            INSERT INTO podio.endpoint_tiers (endpoint, tier, limit_seen, learned_at) VALUES ($1, $2, $3, now())
                            ON CONFLICT (endpoint) DO UPDATE SET tier = $2, limit_seen = $3, learned_at = now()
                            WHERE podio.endpoint_tiers.tier <> $2 OR podio.endpoint_tiers.limit_seen IS DISTINCT FROM $3
                            """, [permit.endpoint.name, learned.rawValue, limit])
                        if learned != tier {
                            logger.debug(
                                "endpoint tier learned",
                                metadata: ["endpoint": "\(permit.endpoint)", "tier": "\(learned.rawValue)"])
                            tier = learned
                        }
                    }
                    if let id = permit.id {
                        // The call counts from its answer on: Podio counted it somewhere between the
                        // request and the answer, so the window computed from the answer is never shorter.
                        try db.query(
                            "UPDATE podio.api_calls SET status = $2, tier = $3, called_at = greatest(called_at, $4) WHERE call_id = $1",
                            [id, status, tier.rawValue, now])
                    }
                    if status == 420 {
                        let pause = retryAfterSeconds.map(Double.init) ?? policy.coolDown
                        try Self.recordPause(
                            db, identity: permit.identity, tiers: [tier], until: now.addingTimeInterval(pause),
                            reason: "Podio answered 420 on \(permit.endpoint.name)")
                    } else if let remaining = headers.remaining, let limit = headers.limit,
                        policy.tier(forLimit: limit) != nil,
                        let id = permit.id
                    {
                        // Calls the server counted beyond the ledger's own (up to this one) were made
                        // by someone else on the same key: they count until a window after now.
                        let ours =
                            try db.query(
                                """
                                SELECT count(*) AS n FROM podio.api_calls
                                WHERE credential = $1 AND tier = $2 AND called_at > $3 AND call_id <= $4
                                """, [permit.identity, tier.rawValue, now.addingTimeInterval(-policy.window), id]
                            ).first?.int("n") ?? 0
                        let external = max(0, limit - remaining - ours)
                        try db.query(
                            """
                            INSERT INTO podio.quota_state (credential, tier, limit_seen, remaining_seen, remaining_seen_at,
                                                           external_calls, external_until)
                            VALUES ($1, $2, $3, $4, $5, $6, $7)
                            ON CONFLICT (credential, tier) DO UPDATE SET limit_seen = $3, remaining_seen = $4,
                                remaining_seen_at = $5, external_calls = $6, external_until = $7
                            """,
                            [
                                permit.identity, tier.rawValue, limit, remaining, now, external,
                                now.addingTimeInterval(policy.window),
                            ])
                    }
                    return tier
                }
            }
            if status == 420 { await stats.rateLimited() }
        } catch {
            logger.warning("could not record a call's outcome in the quota ledger", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes ledger rows older than twice the window.
    public func prune() async throws {
        let cutoff = clock.now().addingTimeInterval(-2 * policy.window)
        _ = try await db.run { db in try db.query("DELETE FROM podio.api_calls WHERE called_at < $1", [cutoff]) }
    }

    /// The quota as it stands for an identity: calls in the window per tier and when one frees.
    public func usage(identity: String) async throws -> [QuotaUsage] {
        let now = clock.now()
        let policy = self.policy
        return try await db.run { db in
            try TierName.allCases.map { tier in
                let row = try db.query(
                    """
                    SELECT count(*) AS used, min(called_at) AS oldest FROM podio.api_calls
                    WHERE credential = $1 AND tier = $2 AND called_at > $3
                    """, [identity, tier.rawValue, now.addingTimeInterval(-policy.window)]
                ).first
                let used = row?.int("used") ?? 0
                return QuotaUsage(
                    tier: tier, used: used, quota: policy.limit(tier), allowed: policy.allowed(tier),
                    oldestLeavesAt: row?.date("oldest").map { $0.addingTimeInterval(policy.window) })
            }
        }
    }

    /// Calls of `tier` the identity may make at once, without waiting (none while paused).
    public func freeCalls(identity: String, tier: TierName) async throws -> Int {
        let now = clock.now()
        let policy = self.policy
        return try await db.run { db in
            let state = try db.query(
                "SELECT paused_until, external_calls, external_until FROM podio.quota_state WHERE credential = $1 AND tier = $2",
                [identity, tier.rawValue]
            ).first
            if let paused = state?.date("paused_until"), paused > now { return 0 }
            let used =
                try db.query(
                    "SELECT count(*) AS used FROM podio.api_calls WHERE credential = $1 AND tier = $2 AND called_at > $3",
                    [identity, tier.rawValue, now.addingTimeInterval(-policy.window)]
                ).first?.int("used") ?? 0
            let external =
                (state?.date("external_until")).map { $0 > now } == true ? state?.int("external_calls") ?? 0 : 0
            return max(0, policy.allowed(tier) - used - external)
        }
    }

    enum Decision: Sendable {
        case granted(id: Int64?, tier: TierName)
        case wait(until: Date, tier: TierName, reason: String)
    }

    private func decide(endpoint: PodioEndpoint, identity: String, now: Date) async throws -> Decision {
        let policy = self.policy
        let runID = self.runID.withLock { $0 }
        return try await db.run { db in
            try db.withTransaction { db -> Decision in
                try db.advisoryTransactionLock(Self.lockKey(identity))
                let learned = try db.query("SELECT tier FROM podio.endpoint_tiers WHERE endpoint = $1", [endpoint.name])
                    .first?.string("tier").flatMap(TierName.init(rawValue:))
                let tier = learned ?? endpoint.defaultTier
                let windowStart = now.addingTimeInterval(-policy.window)
                let state = try db.query(
                    """
                    SELECT paused_until, pause_reason, external_calls, external_until
                    FROM podio.quota_state WHERE credential = $1 AND tier = $2
                    """, [identity, tier.rawValue]
                ).first
                if let paused = state?.date("paused_until"), paused > now {
                    return .wait(
                        until: paused, tier: tier, reason: state?.string("pause_reason") ?? "paused after a 420")
                }
                let calls = try db.query(
                    """
                    SELECT called_at FROM podio.api_calls WHERE credential = $1 AND tier = $2 AND called_at > $3
                    ORDER BY called_at
                    """, [identity, tier.rawValue, windowStart]
                ).rows.compactMap { $0.date("called_at") }
                // Calls the server counted that this ledger did not make (another tool on the same
                // key): they are assumed made when the server said so, and leave the window then.
                var external = 0
                var externalUntil = now
                if let until = state?.date("external_until"), until > now {
                    external = state?.int("external_calls") ?? 0
                    externalUntil = until
                }
                let allowed = policy.allowed(tier)
                if calls.count + external < allowed {
                    let id = try db.query(
                        """
                        INSERT INTO podio.api_calls (credential, tier, endpoint, called_at, run_id)
                        VALUES ($1, $2, $3, $4, $5) RETURNING call_id
                        """, [identity, tier.rawValue, endpoint.name, now, runID]
                    ).first?.int64("call_id")
                    return .granted(id: id, tier: tier)
                }
                // The first moment the count drops under `allowed`: as our calls leave the
                // window one by one, and the external ones all at once.
                var candidates = calls.map { $0.addingTimeInterval(policy.window) }
                if external > 0 { candidates.append(externalUntil) }
                candidates.sort()
                for t in candidates where t > now {
                    let ours = calls.filter { $0.addingTimeInterval(policy.window) > t }.count
                    let ext = externalUntil > t ? external : 0
                    if ours + ext < allowed {
                        return .wait(
                            until: t, tier: tier,
                            reason: "\(calls.count + external) of \(allowed) calls used in the window")
                    }
                }
                return .wait(until: now.addingTimeInterval(policy.window), tier: tier, reason: "quota used")
            }
        }
    }

    static func lockKey(_ identity: String) -> Int64 {
        LockKeys.quotaBase ^ LockKeys.hash(identity)
    }

    /// Pauses calls of `identity` in the given tiers until `until` (never shortening a longer
    /// pause), inside the caller's transaction.
    static func recordPause(_ db: PGConnection, identity: String, tiers: [TierName], until: Date, reason: String) throws
    {
        for tier in tiers {
            try db.query(
                """
                INSERT INTO podio.quota_state (credential, tier, paused_until, pause_reason)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (credential, tier) DO UPDATE SET paused_until = GREATEST(podio.quota_state.paused_until, $3),
                    pause_reason = $4
                """, [identity, tier.rawValue, until, reason])
        }
    }
}

/// An error that means "not now": the run stops after its last committed page, is recorded as
/// deferred until `freesAt`, and exits with the deferred code.
public protocol RunDeferral: Error, Sendable, CustomStringConvertible {
    var freesAt: Date { get }
}

/// The quota cannot allow the next call before the run's deadline.
public struct QuotaDeferral: RunDeferral {
    public var tier: TierName
    public var freesAt: Date
    public var reason: String

    public var description: String {
        "the \(tier.rawValue) quota allows the next call at \(PodioTime.format(freesAt)) UTC (\(reason))"
    }
}

/// One tier's use of the quota.
public struct QuotaUsage: Sendable, Codable {
    public var tier: TierName
    public var used: Int
    public var quota: Int
    public var allowed: Int
    public var oldestLeavesAt: Date?
}

/// Counters of one ledger instance (one run).
public actor LedgerStats {
    public struct Snapshot: Sendable, Codable {
        public var rateLimited = 0
        public var general = 0
        public var secondsWaited = 0.0
        public var rateLimitErrors = 0
    }

    private var current = Snapshot()

    func count(_ tier: TierName) {
        if tier == .rateLimited { current.rateLimited += 1 } else { current.general += 1 }
    }

    func waited(_ seconds: Double) { current.secondsWaited += seconds }

    func rateLimited() { current.rateLimitErrors += 1 }

    func snapshot() -> Snapshot { current }
}
