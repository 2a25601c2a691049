import Foundation
import LibPQ
import Logging
import PodioAPI
import Synchronization

/// The shared rate limiter: a ledger of calls in PostgreSQL (`podio.api_calls`).
///
/// Before each call, in a short transaction serialized per credential by an advisory lock, it
/// counts that credential's calls of the tier in the trailing window (plus calls the server
/// says someone else made) and records the call only while the count is under the quota less
/// the reserve. Otherwise it computes the exact moment enough calls leave the window and waits
/// until then, unless that is past the run's deadline: then it throws a deferral. Since every
/// process that shares the database shares the ledger, runs together never exceed the quota; a
/// rolling window that is never exceeded cannot exceed a clock-aligned one either.
///
/// Past either limit Podio answers 420 to every call (reference §3, §12), so a call the ledger
/// counts in the wrong tier can stop everything. The rules that keep every tier under the
/// server's limit whatever Podio's tiers turn out to be (docs/quota.md):
/// - A call of an endpoint whose tier is not learned yet is booked on both tiers: it must fit
///   in both, and counts in both until its answer's `X-Rate-Limit-Limit` settles the tier (the
///   other booking is then released). An answer without usable headers (a failure, a file
///   download) leaves both bookings. Endpoints' tiers are learned as before
///   (`podio.endpoint_tiers`), by `QuotaPolicy.tier(forLimit:held:)`.
/// - A tier's quota is the configured one, or the lowest limit an endpoint learned in it showed
///   when that is lower (`quotas`); the reserve is taken from that.
/// - Podio's count is a floor: when `X-Rate-Limit-Remaining` says fewer calls are left than the
///   ledger believes, the difference is booked for that identity and tier (external calls).
/// - A 420 pauses every tier of the identity, for every process sharing the database.
/// - A call counts from its answer (Podio counted it somewhere between the request and the
///   answer). A call with no answer recorded yet counts as if Podio counted it now, and at most
///   as late as `answer_by` (its booking plus the request timeout): the call of a process killed
///   mid-request keeps its place in the window, for every process, until then plus a window.
public final class QuotaLedger: CallGate {
    private let db: PGConnection
    /// The quota this ledger enforces.
    public let policy: QuotaPolicy
    private let clock: any WallClock
    private let logger: Logger
    private let runID: Mutex<Int64?>
    /// The latest moment the run is willing to wait until (`--max-wait` from the run's start).
    private let deadline: Date?
    private let stats = LedgerStats()
    private let metrics: MirrorMetrics
    /// Seconds from a booking by which the call is answered or has failed: the transport's
    /// deadline for a whole request, plus a margin for the moments between booking and sending.
    private let answerWithin: Double

    /// - Parameter requestTimeout: the transport's deadline for one whole request
    ///   (`PODIO_REQUEST_TIMEOUT`): an unanswered call counts as late as that after its booking.
    public init(
        db: PGConnection, policy: QuotaPolicy, clock: any WallClock = SystemClock(), runID: Int64? = nil,
        deadline: Date? = nil, requestTimeout: Double = 60, metrics: MirrorMetrics = MirrorMetrics(),
        logger: Logger
    ) {
        self.answerWithin = max(0, requestTimeout) + Self.bookingMargin
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
                return CallPermit(id: id, endpoint: endpoint, tier: tier, identity: identity)
            case .wait(let until, let tier, let reason):
                if defers(until: until) { throw QuotaDeferral(tier: tier, freesAt: until, reason: reason) }
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
        let reading = policy.reading(headers.limit)
        do {
            counted = try await db.run { [policy, logger] db in
                try db.withTransaction { db -> QuotaTier in
                    try db.advisoryTransactionLock(Self.lockKey(permit.identity))
                    var tier = permit.tier
                    var settled = false
                    switch reading {
                    case .limit(let limit):
                        // Endpoints' tiers are shared by every credential: one learner at a time.
                        try db.advisoryTransactionLock(LockKeys.quotaBase)
                        var held: [QuotaTier: Set<Int>] = [:]
                        for row in try db.query(
                            "SELECT tier, limit_seen FROM podio.endpoint_tiers WHERE endpoint <> $1 AND limit_seen > 0",
                            [permit.endpoint.name]
                        ).rows {
                            if let t = row.string("tier").flatMap(QuotaTier.init(rawValue:)),
                                let seen = row.int("limit_seen")
                            {
                                held[t, default: []].insert(seen)
                            }
                        }
                        let learned = policy.tier(forLimit: limit, held: held)
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
                        settled = true
                    case .unlimited:
                        settled = true  // not limited: one booking is enough, the default tier's
                    case .none:
                        break  // the tier stays unknown: a call booked on both keeps both
                    }
                    if let id = permit.id {
                        // The call counts from its answer on: Podio counted it somewhere between the
                        // request and the answer, so the window computed from the answer is never shorter.
                        if settled {
                            try db.query(
                                """
                                UPDATE podio.api_calls SET status = $2, tier = $3, both_tiers = false,
                                    called_at = greatest(called_at, $4), answer_by = NULL WHERE call_id = $1
                                """, [id, status, tier.rawValue, now])
                        } else {
                            try db.query(
                                """
                                UPDATE podio.api_calls SET status = $2, called_at = greatest(called_at, $3), answer_by = NULL
                                WHERE call_id = $1
                                """, [id, status, now])
                        }
                    }
                    if let status, Self.refusals.contains(status) {
                        // Past the limit Podio refuses every call, whatever its tier: all wait.
                        // A refusal again within a window of the last pause waits the whole
                        // window (Podio names no reset; reference §3.4: "5–15 min, then hourly").
                        var pause = retryAfterSeconds.map(Double.init) ?? policy.coolDown
                        let last = try db.query(
                            "SELECT max(paused_until) AS until FROM podio.quota_state WHERE credential = $1",
                            [permit.identity]
                        ).first?.date("until")
                        if let last, last > now.addingTimeInterval(-policy.window) { pause = max(pause, policy.window) }
                        try Self.recordPause(
                            db, identity: permit.identity, tiers: QuotaTier.allCases,
                            until: now.addingTimeInterval(pause),
                            reason: "Podio answered \(status) on \(permit.endpoint.name)")
                    } else if case .limit(let limit) = reading, let remaining = headers.remaining, let id = permit.id,
                        let status, (200..<300).contains(status)
                    {
                        // Podio's count is a floor. Calls the server counted beyond the ledger's
                        // own in this tier (up to this one; calls booked on both tiers included,
                        // or every file download would count twice) were made by someone else on
                        // the same key: they count until a window after now. Only a served call's
                        // headers are read (an error page's may be a proxy's). The server's limit
                        // may be below the configured one: its count is `limit - remaining` all
                        // the same.
                        let ours =
                            try db.query(
                                """
                                SELECT count(*) AS n FROM podio.api_calls
                                WHERE credential = $1 AND (tier = $2 OR both_tiers) AND call_id <= $4
                                  AND coalesce(answer_by, called_at) > $3
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
            if let status, Self.refusals.contains(status) { await stats.rateLimited() }
        } catch {
            logger.warning("could not record a call's outcome in the quota ledger", metadata: ["error": "\(error)"])
        }
        // Counted in the tier its answer settled (as in the metrics), the assumed one otherwise.
        await stats.count(counted)
    }

    /// Deletes ledger rows older than twice the window.
    public func prune() async throws {
        let cutoff = clock.now().addingTimeInterval(-2 * policy.window)
        _ = try await db.run { db in
            try db.query("DELETE FROM podio.api_calls WHERE coalesce(answer_by, called_at) < $1", [cutoff])
        }
    }

    /// The quota as it stands for an identity: calls in the window per tier (the server's count
    /// of others' calls included) and when one frees.
    public func usage(identity: String) async throws -> [QuotaUsage] {
        let now = clock.now()
        let policy = self.policy
        return try await db.run { db in try Self.usage(db, identity: identity, policy: policy, now: now) }
    }

    /// `usage(identity:)` inside the caller's connection (`status` reads it for every identity).
    public static func usage(_ db: PGConnection, identity: String, policy: QuotaPolicy, now: Date) throws
        -> [QuotaUsage]
    {
        let standing = try Standing.read(db, identity: identity, policy: policy, now: now)
        return QuotaTier.allCases.map { tier in
            let window = standing.window(tier, policy: policy)
            return QuotaUsage(
                tier: tier, used: window.used(at: now), quota: window.quota, allowed: window.allowed,
                oldestLeavesAt: window.calls.first.map { $0.addingTimeInterval(policy.window) },
                external: window.external(at: now), pausedUntil: standing.pausedUntil)
        }
    }

    /// Calls of `tier` the identity may make at once, without waiting (none while paused).
    public func freeCalls(identity: String, tier: QuotaTier) async throws -> Int {
        let now = clock.now()
        let policy = self.policy
        return try await db.run { db in
            let standing = try Standing.read(db, identity: identity, policy: policy, now: now)
            guard standing.pausedUntil == nil, let window = standing.tiers[tier] else { return 0 }
            return max(0, window.allowed - window.used(at: now))
        }
    }

    /// Throws the deferral `acquire` would throw for a call of `tier` now, without booking one:
    /// a run that would defer at its first rate-limited call spends nothing before it (a full
    /// pass reads the app's definition, a general call, first). Waits are left to `acquire`.
    public func requireAvailable(_ tier: QuotaTier, identity: String) async throws {
        let now = clock.now()
        let policy = self.policy
        let until = try await db.run { db in
            try Standing.read(db, identity: identity, policy: policy, now: now)
                .wait(tier: tier, bookedOn: [tier], policy: policy, now: now)?.until
        }
        guard let until, defers(until: until) else { return }
        throw QuotaDeferral(
            tier: tier, freesAt: until, reason: "no \(tier.rawValue) call is free before the run's deadline")
    }

    /// A wait until `until` ends the run instead (`--max-wait`, or work that never waits).
    private func defers(until: Date) -> Bool {
        Self.neverWait || (deadline.map { until > $0 } ?? false)
    }

    enum Decision: Sendable {
        case granted(id: Int64?, tier: QuotaTier)
        case wait(until: Date, tier: QuotaTier, reason: String)
    }

    private func decide(endpoint: PodioEndpoint, identity: String, now: Date) async throws -> Decision {
        let policy = self.policy
        let (answerWithin, clock) = (self.answerWithin, self.clock)
        let runID = self.runID.withLock { $0 }
        return try await db.run { db in
            try db.withTransaction { db -> Decision in
                try db.advisoryTransactionLock(Self.lockKey(identity))
                let learned = try db.query("SELECT tier FROM podio.endpoint_tiers WHERE endpoint = $1", [endpoint.name])
                    .first?.string("tier").flatMap(QuotaTier.init(rawValue:))
                let tier = learned ?? endpoint.defaultTier
                // A tier not learned yet: the call must fit in both, and is booked on both.
                if let wait = try Standing.read(db, identity: identity, policy: policy, now: now).wait(
                    tier: tier, bookedOn: learned.map { [$0] } ?? QuotaTier.allCases, policy: policy, now: now)
                {
                    return .wait(until: wait.until, tier: wait.tier, reason: wait.reason)
                }
                // The request's deadline runs from now, after the lock and the queue of the ledger's connection.
                let answerBy = max(now, clock.now()).addingTimeInterval(answerWithin)
                let id = try db.query(
                    """
                    INSERT INTO podio.api_calls (credential, tier, endpoint, called_at, run_id, both_tiers, answer_by)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING call_id
                    """,
                    [
                        identity, tier.rawValue, endpoint.name, now, runID, learned == nil,
                        answerBy,
                    ]
                ).first?.int64("call_id")
                return .granted(id: id, tier: tier)
            }
        }
    }

    /// The quota of each tier: the configured limit, or the lowest `X-Rate-Limit-Limit` an
    /// endpoint learned in that tier last showed when that is lower (a server with lower limits
    /// than the configuration, or a tier that holds calls of both of the server's tiers). A
    /// lowered limit holds until every endpoint that showed it has shown another.
    static func quotas(_ db: PGConnection, policy: QuotaPolicy) throws -> [QuotaTier: Int] {
        var quotas: [QuotaTier: Int] = [:]
        for tier in QuotaTier.allCases { quotas[tier] = policy.limit(tier) }
        for row in try db.query(
            "SELECT tier, min(limit_seen) AS low FROM podio.endpoint_tiers WHERE limit_seen > 0 GROUP BY tier"
        ).rows {
            if let tier = row.string("tier").flatMap(QuotaTier.init(rawValue:)), let low = row.int("low") {
                quotas[tier] = min(quotas[tier] ?? low, low)
            }
        }
        return quotas
    }

    /// One tier's window for an identity: the ledger's bookings (calls booked on both tiers
    /// included), the calls the server counted for others, and the quota.
    struct TierWindow {
        var quota: Int
        var allowed: Int
        /// Booking times in the window, oldest first.
        var calls: [Date] = []
        var externalCalls = 0
        var externalUntil: Date?

        func external(at now: Date) -> Int {
            (externalUntil.map { $0 > now } ?? false) ? externalCalls : 0
        }

        func used(at now: Date) -> Int { calls.count + external(at: now) }

        /// The first moment the count drops under `allowed`, or nil when it is under now: as
        /// the ledger's calls leave the window one by one, and the external ones all at once.
        func freesAt(now: Date, window: Double) -> Date? {
            let external = external(at: now)
            guard calls.count + external >= allowed else { return nil }
            var candidates = calls.map { $0.addingTimeInterval(window) }
            if external > 0, let until = externalUntil { candidates.append(until) }
            for t in candidates.sorted() where t > now {
                let ours = calls.filter { $0.addingTimeInterval(window) > t }.count
                let ext = (externalUntil.map { $0 > t } ?? false) ? external : 0
                if ours + ext < allowed { return t }
            }
            return now.addingTimeInterval(window)
        }
    }

    /// An identity's quota as the database holds it now.
    struct Standing {
        var tiers: [QuotaTier: TierWindow] = [:]
        /// The latest pause of any tier still running (a 420 stops every call).
        var pausedUntil: Date?
        var pauseReason: String?

        /// The window of `tier` (the configured quota when the database named none).
        func window(_ tier: QuotaTier, policy: QuotaPolicy) -> TierWindow {
            tiers[tier] ?? TierWindow(quota: policy.limit(tier), allowed: policy.allowed(tier))
        }

        /// How long a call of `tier`, booked on `bookedOn`, must wait, and why: until a pause
        /// ends (a 420 stops every tier), or until each tier it is booked on has room; nil
        /// when it fits now.
        func wait(tier: QuotaTier, bookedOn: [QuotaTier], policy: QuotaPolicy, now: Date)
            -> (until: Date, tier: QuotaTier, reason: String)?
        {
            if let pausedUntil { return (pausedUntil, tier, pauseReason ?? "paused after a 420") }
            var wait: (until: Date, tier: QuotaTier, reason: String)?
            for booked in bookedOn {
                let window = window(booked, policy: policy)
                if let until = window.freesAt(now: now, window: policy.window), until > (wait?.until ?? now) {
                    wait = (
                        until, booked,
                        "\(window.used(at: now)) of \(window.allowed) \(booked.rawValue) calls used in the window"
                    )
                }
            }
            return wait
        }

        static func read(_ db: PGConnection, identity: String, policy: QuotaPolicy, now: Date) throws -> Standing {
            var standing = Standing()
            for (tier, quota) in try QuotaLedger.quotas(db, policy: policy) {
                standing.tiers[tier] = TierWindow(quota: quota, allowed: policy.allowed(quota: quota))
            }
            for row in try db.query(
                """
                SELECT called_at, answer_by, tier, both_tiers FROM podio.api_calls
                WHERE credential = $1 AND coalesce(answer_by, called_at) > $2
                """, [identity, now.addingTimeInterval(-policy.window)]
            ).rows {
                guard let booked = row.date("called_at") else { continue }
                let at = QuotaLedger.countedAt(booked: booked, answerBy: row.date("answer_by"), now: now)
                let both = row.bool("both_tiers") ?? true
                for tier in QuotaTier.allCases where both || row.string("tier") == tier.rawValue {
                    standing.tiers[tier]?.calls.append(at)
                }
            }
            for tier in QuotaTier.allCases { standing.tiers[tier]?.calls.sort() }
            for row in try db.query(
                """
                SELECT tier, paused_until, pause_reason, external_calls, external_until
                FROM podio.quota_state WHERE credential = $1
                """, [identity]
            ).rows {
                if let paused = row.date("paused_until"), paused > now, paused > (standing.pausedUntil ?? now) {
                    standing.pausedUntil = paused
                    standing.pauseReason = row.string("pause_reason")
                }
                if let tier = row.string("tier").flatMap(QuotaTier.init(rawValue:)) {
                    standing.tiers[tier]?.externalCalls = row.int("external_calls") ?? 0
                    standing.tiers[tier]?.externalUntil = row.date("external_until")
                }
            }
            return standing
        }
    }

    /// The moment a call counts from, as far as the ledger can tell at `now`: its answer's
    /// (`called_at` once answered); for a call not answered yet, now (Podio may count it at any
    /// moment until its answer), but never later than `answer_by`, by when its request has been
    /// answered or abandoned (a call whose process was killed stays there).
    static func countedAt(booked: Date, answerBy: Date?, now: Date) -> Date {
        guard let answerBy else { return booked }
        return min(answerBy, max(booked, now))
    }

    /// Seconds added to the request timeout for the moments between a booking and the request
    /// leaving (the ledger's transaction, the token), and the clocks of two processes.
    static let bookingMargin = 5.0

    /// Answers that mean "over the limit": Podio's 420, and 429, which a proxy in front of it
    /// (or a later Podio) may send; the client treats both as rate-limited.
    static let refusals: Set<Int> = [420, 429]

    static func lockKey(_ identity: String) -> Int64 {
        LockKeys.quotaBase ^ LockKeys.hash(identity)
    }

    /// Pauses calls of `identity` in the given tiers until `until` (never shortening a longer
    /// pause), inside the caller's transaction.
    static func recordPause(_ db: PGConnection, identity: String, tiers: [QuotaTier], until: Date, reason: String)
        throws
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
