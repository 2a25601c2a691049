import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import Synchronization
import TestSupport
import Testing

@Suite("Quota ledger in PostgreSQL, with an injected clock")
struct QuotaLedgerTests {
    static let filter = PodioEndpoint.filterItems
    static let headersNone = RateLimitHeaders(limit: nil, remaining: nil)

    private func withLedgerDB(_ body: (PGConnection, TestDatabase) async throws -> Void) async throws {
        try await TestSlots.with {
            let database = try await TestDatabase.create(prefix: "ledger")
            let db = try await database.connect()
            try await db.run { _ = try SchemaMigrator.migrate($0, logger: TestDatabase.logger) }
            do {
                try await body(db, database)
            } catch {
                db.close()
                await database.drop()
                throw error
            }
            db.close()
            await database.drop()
        }
    }

    @Test func callsUnderTheQuotaNeverWait() async throws {
        try await withLedgerDB { db, _ in
            let clock = TestClock()
            let ledger = QuotaLedger(
                db: db, policy: QuotaPolicy(rateLimited: 4, general: 10, window: 20, reserve: 0), clock: clock,
                logger: TestDatabase.logger)
            for _ in 0..<4 {
                let permit = try await ledger.acquire(Self.filter, identity: "user:a")
                await ledger.complete(permit, status: 200, headers: Self.headersNone, retryAfterSeconds: nil)
            }
            #expect(clock.totalSlept == 0)
            let snapshot = await ledger.snapshot()
            #expect(snapshot.rateLimited == 4 && snapshot.secondsWaited == 0)
        }
    }

    @Test func theFifthCallWaitsExactlyUntilTheOldestLeavesTheWindow() async throws {
        try await withLedgerDB { db, _ in
            let clock = TestClock()
            let start = clock.now()
            let ledger = QuotaLedger(
                db: db, policy: QuotaPolicy(rateLimited: 4, general: 10, window: 20, reserve: 0), clock: clock,
                logger: TestDatabase.logger)
            // GET /app/{id}'s tier is learned first (a tier not known yet counts in both).
            let app = try await ledger.acquire(.app, identity: "user:a")
            await ledger.complete(
                app, status: 200, headers: RateLimitHeaders(limit: 10, remaining: 9), retryAfterSeconds: nil)
            for i in 0..<4 {
                let permit = try await ledger.acquire(Self.filter, identity: "user:a")
                await ledger.complete(permit, status: 200, headers: Self.headersNone, retryAfterSeconds: nil)
                if i < 3 { clock.advance(1) }
            }
            _ = try await ledger.acquire(Self.filter, identity: "user:a")
            // The first call was answered at start: it leaves the window at start + 20.
            #expect(abs(clock.now().timeIntervalSince(start) - 20) < 0.01)
            #expect(abs(clock.totalSlept - 17) < 0.01)
            // Another identity has its own quota.
            let before = clock.now()
            _ = try await ledger.acquire(Self.filter, identity: "app:b")
            #expect(clock.now() == before)
            // The general tier is not touched by the rate-limited one.
            _ = try await ledger.acquire(.app, identity: "user:a")
            #expect(clock.now() == before)
        }
    }

    @Test func reserveIsKeptForOthers() async throws {
        let policy = QuotaPolicy(rateLimited: 250, general: 1000, window: 3600)
        #expect(policy.allowed(.rateLimited) == 237)
        #expect(policy.allowed(.general) == 950)
        #expect(QuotaPolicy(rateLimited: 4, general: 4, window: 20).allowed(.rateLimited) == 3)
    }

    @Test func waitingPastTheDeadlineDefers() async throws {
        try await withLedgerDB { db, _ in
            let clock = TestClock()
            let ledger = QuotaLedger(
                db: db, policy: QuotaPolicy(rateLimited: 2, general: 10, window: 60, reserve: 0), clock: clock,
                deadline: clock.now().addingTimeInterval(30), logger: TestDatabase.logger)
            for _ in 0..<2 { _ = try await ledger.acquire(Self.filter, identity: "user:a") }
            await #expect(throws: QuotaDeferral.self) { _ = try await ledger.acquire(Self.filter, identity: "user:a") }
            do {
                _ = try await ledger.acquire(Self.filter, identity: "user:a")
            } catch let deferral as QuotaDeferral {
                #expect(abs(deferral.freesAt.timeIntervalSince(clock.now()) - 60) < 0.01)
            }
        }
    }

    @Test func a420PausesTheIdentityForTheNamedWait() async throws {
        try await withLedgerDB { db, _ in
            let clock = TestClock()
            let ledger = QuotaLedger(
                db: db, policy: QuotaPolicy(rateLimited: 100, general: 100, window: 3600, reserve: 0), clock: clock,
                logger: TestDatabase.logger)
            let permit = try await ledger.acquire(Self.filter, identity: "user:a")
            let at = clock.now()
            await ledger.complete(
                permit, status: 420, headers: RateLimitHeaders(limit: 100, remaining: 0), retryAfterSeconds: 300)
            _ = try await ledger.acquire(Self.filter, identity: "user:a")
            #expect(abs(clock.now().timeIntervalSince(at) - 300) < 0.01)
            #expect(await ledger.snapshot().rateLimitErrors == 1)
        }
    }

    /// Podio names no reset (reference §3.4: back off 5–15 minutes, then hourly): a refusal
    /// again within a window of the last pause waits the whole window; a 429 (a proxy's, or a
    /// later Podio's) pauses like a 420.
    @Test func aSecondRefusalWithinTheWindowWaitsTheWholeWindow() async throws {
        try await withLedgerDB { db, _ in
            let clock = TestClock()
            let ledger = QuotaLedger(
                db: db, policy: QuotaPolicy(rateLimited: 100, general: 100, window: 3600, reserve: 0), clock: clock,
                logger: TestDatabase.logger)
            let refused = RateLimitHeaders(limit: 100, remaining: 0)
            var permit = try await ledger.acquire(Self.filter, identity: "user:a")
            var at = clock.now()
            await ledger.complete(permit, status: 429, headers: refused, retryAfterSeconds: 300)
            permit = try await ledger.acquire(Self.filter, identity: "user:a")
            #expect(abs(clock.now().timeIntervalSince(at) - 300) < 0.01)
            at = clock.now()
            await ledger.complete(permit, status: 420, headers: refused, retryAfterSeconds: 300)
            permit = try await ledger.acquire(Self.filter, identity: "user:a")
            #expect(abs(clock.now().timeIntervalSince(at) - 3600) < 0.01)
            // A refusal a window after the last pause waits what it names again.
            clock.advance(3601)
            at = clock.now()
            await ledger.complete(permit, status: 420, headers: refused, retryAfterSeconds: 300)
            _ = try await ledger.acquire(Self.filter, identity: "user:a")
            #expect(abs(clock.now().timeIntervalSince(at) - 300) < 0.01)
            #expect(await ledger.snapshot().rateLimitErrors == 3)
        }
    }

    @Test func theServersLowerRemainingCountWins() async throws {
        try await withLedgerDB { db, _ in
            let clock = TestClock()
            let ledger = QuotaLedger(
                db: db, policy: QuotaPolicy(rateLimited: 10, general: 1000, window: 100, reserve: 0), clock: clock,
                logger: TestDatabase.logger)
            let permit = try await ledger.acquire(Self.filter, identity: "user:a")
            // Another tool used 8 calls of the same key: the server says 1 remains.
            await ledger.complete(
                permit, status: 200, headers: RateLimitHeaders(limit: 10, remaining: 1), retryAfterSeconds: nil)
            let at = clock.now()
            _ = try await ledger.acquire(Self.filter, identity: "user:a")
            #expect(clock.now() == at)
            _ = try await ledger.acquire(Self.filter, identity: "user:a")
            // Ten calls counted in the window now: the next waits a window for the others to leave.
            #expect(abs(clock.now().timeIntervalSince(at) - 100) < 0.01)
        }
    }

    @Test func tiersAreLearnedFromTheLimitHeader() async throws {
        try await withLedgerDB { db, _ in
            let clock = TestClock()
            let ledger = QuotaLedger(db: db, policy: QuotaPolicy(), clock: clock, logger: TestDatabase.logger)
            // GET /app/{id} is assumed general; the server says its limit is 250.
            let permit = try await ledger.acquire(.app, identity: "user:a")
            #expect(permit.tier == .general)
            await ledger.complete(
                permit, status: 200, headers: RateLimitHeaders(limit: 250, remaining: 249), retryAfterSeconds: nil)
            let next = try await ledger.acquire(.app, identity: "user:a")
            #expect(next.tier == .rateLimited)
            let stored = try await db.run {
                try $0.query("SELECT tier FROM podio.endpoint_tiers WHERE endpoint = 'GET /app/{app_id}'").first?
                    .string("tier")
            }
            #expect(stored == "rate_limited")
        }
    }

    @Test func twoLedgersOnOneDatabaseShareTheQuota() async throws {
        try await withLedgerDB { db, database in
            let other = try await database.connect()
            defer { other.close() }
            let clock = TestClock()
            let policy = QuotaPolicy(rateLimited: 5, general: 100, window: 1000, reserve: 0)
            let a = QuotaLedger(
                db: db, policy: policy, clock: clock, deadline: clock.now().addingTimeInterval(1),
                logger: TestDatabase.logger)
            let b = QuotaLedger(
                db: other, policy: policy, clock: clock, deadline: clock.now().addingTimeInterval(1),
                logger: TestDatabase.logger)
            let granted = await withTaskGroup(of: Int.self) { group in
                for ledger in [a, b, a, b] {
                    group.addTask {
                        var n = 0
                        for _ in 0..<5 {
                            guard (try? await ledger.acquire(Self.filter, identity: "user:shared")) != nil else {
                                break
                            }
                            n += 1
                        }
                        return n
                    }
                }
                return await group.reduce(0, +)
            }
            #expect(granted == 5)
            #expect(try await db.run { try $0.query("SELECT count(*) AS n FROM podio.api_calls").first?.int("n") } == 5)
        }
    }

    /// A process killed while its call was in flight never records the answer. Podio may have
    /// counted that call when it arrived, or as late as the request's deadline, not when it was
    /// booked: it keeps its place in every process's window until the booking plus the request
    /// timeout (and the ledger's margin) plus a window. Before, it left a window after the
    /// booking, and a three-worker run drew a 420 right after a kill.
    @Test func aCallNeverAnsweredCountsUntilItsRequestCouldHaveEndedPlusAWindow() async throws {
        try await withLedgerDB { db, database in
            let other = try await database.connect()
            defer { other.close() }
            let clock = TestClock()
            let start = clock.now()
            let policy = QuotaPolicy(rateLimited: 1, general: 100, window: 20, reserve: 0)
            let killed = QuotaLedger(
                db: db, policy: policy, clock: clock, requestTimeout: 10, logger: TestDatabase.logger)
            _ = try await killed.acquire(Self.filter, identity: "user:a")  // never completed
            let survivor = QuotaLedger(
                db: other, policy: policy, clock: clock, requestTimeout: 10, logger: TestDatabase.logger)
            // While the call may still be in flight it counts from now: no slot a window after the booking.
            let usage = try await survivor.usage(identity: "user:a")
            #expect(usage.first { $0.tier == .rateLimited }?.used == 1)
            let permit = try await survivor.acquire(Self.filter, identity: "user:a")
            // 10 s of request timeout, 5 s of margin, 20 s of window.
            #expect(abs(clock.now().timeIntervalSince(start) - 35) < 0.01, "\(clock.now().timeIntervalSince(start))")
            // An answered call counts from its answer, as before: the next slot is a window later.
            clock.advance(2)
            await survivor.complete(permit, status: 200, headers: Self.headersNone, retryAfterSeconds: nil)
            let answeredAt = clock.now()
            _ = try await survivor.acquire(Self.filter, identity: "user:a")
            #expect(abs(clock.now().timeIntervalSince(answeredAt) - 20) < 0.01)
        }
    }

    @Test func pruneKeepsTheTableSmall() async throws {
        try await withLedgerDB { db, _ in
            let clock = TestClock()
            let ledger = QuotaLedger(
                db: db, policy: QuotaPolicy(rateLimited: 100, general: 100, window: 10, reserve: 0), clock: clock,
                logger: TestDatabase.logger)
            for _ in 0..<5 {
                let permit = try await ledger.acquire(Self.filter, identity: "user:a")
                await ledger.complete(permit, status: 200, headers: Self.headersNone, retryAfterSeconds: nil)
            }
            // One call never answered: it may count until its request timeout (60 s + 5 s), then a window.
            _ = try await ledger.acquire(Self.filter, identity: "user:a")
            clock.advance(25)
            _ = try await ledger.acquire(Self.filter, identity: "user:a")
            let count = {
                try await db.run { try $0.query("SELECT count(*) AS n FROM podio.api_calls").first?.int("n") }
            }
            try await ledger.prune()
            #expect(try await count() == 2)
            clock.advance(65 - 25 + 2 * 10 + 1)
            try await ledger.prune()
            #expect(try await count() == 1)
        }
    }

    @Test func aLimitIsGuessedToATierSafelyWhateverTheServersLimits() {
        // The configuration (general 60 below rate-limited 250): each limit is its tier's
        // (the old nearest-threshold rule called 60 rate-limited and 250 general).
        let low = QuotaPolicy(rateLimited: 250, general: 60, window: 30)
        #expect(low.tier(forLimit: 60, held: [:]) == .general)
        #expect(low.tier(forLimit: 250, held: [:]) == .rateLimited)
        let policy = QuotaPolicy()
        #expect(policy.tier(forLimit: 1000, held: [:]) == .general)
        #expect(policy.tier(forLimit: 250, held: [:]) == .rateLimited)
        #expect(policy.tier(forLimit: 5000, held: [:]) == .general)  // Podio's old general limit
        // A limit another endpoint showed: that endpoint's tier, so one tier of the server never
        // counts in two of the ledger's.
        #expect(policy.tier(forLimit: 1000, held: [.rateLimited: [1000]]) == .rateLimited)
        // A server with general 60: once 60 holds the rate-limited tier, 250 takes the other.
        #expect(policy.tier(forLimit: 60, held: [:]) == .rateLimited)
        #expect(policy.tier(forLimit: 250, held: [.rateLimited: [60]]) == .general)
        // A third limit shares a tier (its quota is then the lowest of them).
        #expect(policy.tier(forLimit: 400, held: [.rateLimited: [250], .general: [1000]]) == .rateLimited)
        #expect(policy.reading(1_000_000_000) == .unlimited)
        #expect(policy.reading(0) == .none && policy.reading(nil) == .none)
        #expect(policy.reading(60) == .limit(60))
    }

    @Test func theServersLowerLimitIsTheQuotaAndTheReserveIsTakenFromIt() async throws {
        try await withLedgerDB { db, _ in
            let clock = TestClock()
            let ledger = QuotaLedger(db: db, policy: QuotaPolicy(), clock: clock, logger: TestDatabase.logger)
            #expect(try await ledger.freeCalls(identity: "user:a", tier: .general) == 950)
            let permit = try await ledger.acquire(.app, identity: "user:a")
            await ledger.complete(
                permit, status: 200, headers: RateLimitHeaders(limit: 600, remaining: 599), retryAfterSeconds: nil)
            // 600 is nearer 1000 than 250: general, with a quota of 600 less 5%.
            #expect(try await ledger.freeCalls(identity: "user:a", tier: .general) == 570 - 1)
            #expect(try await ledger.freeCalls(identity: "user:a", tier: .rateLimited) == 237)
            let general = try #require(try await ledger.usage(identity: "user:a").first { $0.tier == .general })
            #expect(general.quota == 600 && general.allowed == 570 && general.used == 1)
        }
    }

    @Test func anUnknownTiersBookingStaysOnBothWithoutHeaders() async throws {
        try await withLedgerDB { db, _ in
            let clock = TestClock()
            let ledger = QuotaLedger(
                db: db, policy: QuotaPolicy(rateLimited: 2, general: 10, window: 60, reserve: 0), clock: clock,
                deadline: clock.now(), logger: TestDatabase.logger)
            // GET /file/{id}/raw answers without rate-limit headers: it never learns its tier,
            // and each download counts in both tiers.
            for _ in 0..<2 {
                let permit = try await ledger.acquire(.fileRaw, identity: "user:a")
                await ledger.complete(permit, status: 200, headers: Self.headersNone, retryAfterSeconds: nil)
            }
            #expect(try await ledger.freeCalls(identity: "user:a", tier: .rateLimited) == 0)
            #expect(try await ledger.freeCalls(identity: "user:a", tier: .general) == 8)
            await #expect(throws: QuotaDeferral.self) { _ = try await ledger.acquire(.fileRaw, identity: "user:a") }
            // A server without limits settles the tier (one booking, the default tier's).
            let other = try await ledger.acquire(.item, identity: "user:b")
            await ledger.complete(
                other, status: 200, headers: RateLimitHeaders(limit: 1_000_000_000, remaining: 1_000_000_000),
                retryAfterSeconds: nil)
            #expect(try await ledger.freeCalls(identity: "user:b", tier: .rateLimited) == 2)
            #expect(try await ledger.freeCalls(identity: "user:b", tier: .general) == 9)
        }
    }

    @Test func aVersion5LedgerUpgradesInPlaceAndItsCallsCountInTheirTier() async throws {
        try await withLedgerDB { db, _ in
            _ = try await db.run {
                try $0.execute(
                    """
                    ALTER TABLE podio.api_calls DROP COLUMN both_tiers;
                    UPDATE podio.schema_version SET version = 5;
                    INSERT INTO podio.api_calls (credential, tier, endpoint, called_at)
                    VALUES ('user:a', 'rate_limited', 'POST /item/app/{app_id}/filter/', now())
                    """)
            }
            let outcome = try await db.run { try SchemaMigrator.migrate($0, logger: TestDatabase.logger) }
            #expect(outcome == .applied(from: 5, to: 6))
            // A call recorded before the upgrade counts in its own tier only.
            let ledger = QuotaLedger(
                db: db, policy: QuotaPolicy(rateLimited: 4, general: 10, window: 3600, reserve: 0),
                clock: TestClock(Date()), logger: TestDatabase.logger)
            #expect(try await ledger.freeCalls(identity: "user:a", tier: .rateLimited) == 3)
            #expect(try await ledger.freeCalls(identity: "user:a", tier: .general) == 10)
        }
    }
}
