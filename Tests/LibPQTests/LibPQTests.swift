import Foundation
import LibPQ
import TestSupport
import Testing

@Suite("LibPQ against a real PostgreSQL")
struct LibPQTests {
    let logger = TestDatabase.logger

    /// A fresh database for `body` (holding a slot of the suite's gate, `TestSlots`).
    private func withDatabase<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await TestSlots.with {
            let database = try await TestDatabase.create(prefix: "libpq")
            let db = try await database.connect()
            defer {
                db.close()
            }
            let value = try await db.run(body)
            await database.drop()
            return value
        }
    }

    @Test func roundTripsValuesOfEveryKind() async throws {
        let row = try await withDatabase { db in
            try db.query(
                """
                SELECT $1::text AS t, $2::numeric AS n, $3::timestamptz AS ts, $4::jsonb AS j,
                       $5::text[] AS a, $6::text AS nothing, $7::bigint AS big, $8::boolean AS b
                """,
                [
                    "Grüße 🚀 'quoted' \"double\"", "12345678901234567890.1234", "2024-02-29 23:59:58.5+00",
                    #"{"k": "v ✓", "n": 1.5000}"#, ["a,b", "c\"d", "e\\f"], nil, Int64.max, true,
                ]
            ).first
        }
        let r = try #require(row)
        #expect(r.string("t") == "Grüße 🚀 'quoted' \"double\"")
        #expect(r.string("n") == "12345678901234567890.1234")
        #expect(r.decimal("n") == Decimal(string: "12345678901234567890.1234"))
        #expect(r.string("ts") == "2024-02-29 23:59:58.5+00")
        #expect(r.date("ts") == Date(timeIntervalSince1970: 1_709_251_198.5))
        #expect(r.string("j") == #"{"k": "v ✓", "n": 1.5000}"#)
        #expect(r.string("a") == #"{"a,b","c\"d","e\\f"}"#)
        #expect(r.string("nothing") == nil)
        #expect(r.int64("big") == Int64.max)
        #expect(r.bool("b") == true)
    }

    @Test func timestampsRoundTripThroughDate() async throws {
        let date = Date(timeIntervalSince1970: 1_700_000_000.123456)
        let text = try await withDatabase { db in
            try db.query("SELECT $1::timestamptz AS ts", [date]).first?.string("ts")
        }
        #expect(text == "2023-11-14 22:13:20.123456+00")
        #expect(PGTimestamp.parse(try #require(text))?.timeIntervalSince1970 == date.timeIntervalSince1970)
        #expect(PGTimestamp.parse("2016-06-24 19:00:00") == Date(timeIntervalSince1970: 1_466_794_800))
        #expect(PGTimestamp.parse("1969-12-31 23:00:00+01:00") == Date(timeIntervalSince1970: -7200))
        #expect(PGTimestamp.parse("not a date") == nil)
    }

    @Test func serverErrorCarriesSQLStateAndDetail() async throws {
        let error = try await withDatabase { db -> PGError? in
            try db.execute("CREATE TABLE t (id int PRIMARY KEY)")
            try db.query("INSERT INTO t VALUES ($1)", [1])
            do {
                try db.query("INSERT INTO t VALUES ($1)", [1])
                return nil
            } catch let error as PGError {
                return error
            }
        }
        let e = try #require(error)
        #expect(e.sqlState == "23505")
        #expect(e.isUniqueViolation)
        #expect(!e.isConnectionLost)
        #expect(e.constraint == "t_pkey")
        #expect(e.detail?.contains("(id)=(1)") == true)
        #expect(e.description.contains("23505"))
        // The detail holds the row's values: it stays out of the description, the
        // constraint's name goes in.
        #expect(!e.description.contains("(id)=(1)"), "\(e)")
        #expect(e.description.contains("t_pkey"), "\(e)")
    }

    /// A refused row's values (`Failing row contains (…)`) never reach a message: neither
    /// through the description, nor through libpq's own text of the error (COPY's path).
    @Test func rowValuesInTheDetailStayOutOfMessages() async throws {
        let marker = "row-value-4711-never-shown"
        let errors = try await withDatabase { db -> [PGError] in
            try db.execute("CREATE TABLE r (id int PRIMARY KEY, title text CHECK (title NOT LIKE 'row-value-%'))")
            var errors: [PGError] = []
            do {
                try db.query("INSERT INTO r VALUES (1, $1)", [marker])
            } catch let error as PGError {
                errors.append(error)
            }
            do {
                try db.copyIn("COPY r (id, title) FROM STDIN") { writer in try writer.writeRow(["2", marker]) }
            } catch let error as PGError {
                errors.append(error)
            }
            do {
                try db.execute("INSERT INTO r VALUES (3, '\(marker)')")
            } catch let error as PGError {
                errors.append(error)
            }
            return errors
        }
        #expect(errors.count == 3)
        for error in errors {
            #expect(error.sqlState == "23514")
            #expect(error.detail?.contains(marker) == true)  // there for code that needs it
            #expect(error.description.contains("violates check constraint"), "\(error)")
            #expect(error.description.contains("r_title_check"), "\(error)")
            #expect(!error.description.contains(marker), "\(error)")
            #expect(!error.message.contains(marker), "\(error)")
        }
    }

    @Test func transactionRollsBackOnError() async throws {
        let count = try await withDatabase { db -> Int? in
            try db.execute("CREATE TABLE t (id int)")
            struct Boom: Error {}
            _ = try? db.withTransaction { db in
                try db.query("INSERT INTO t VALUES (1)")
                throw Boom()
            }
            // A statement error swallowed inside the body still rolls back.
            _ = try? db.withTransaction { db in
                try db.query("INSERT INTO t VALUES (2)")
                _ = try? db.query("SELECT 1/0")
            }
            _ = try db.withTransaction { db in try db.query("INSERT INTO t VALUES (3)") }
            return try db.query("SELECT count(*) AS n, max(id) AS m FROM t").first?.int("n")
        }
        #expect(count == 1)
    }

    /// `withTransaction(rollingBack:)` (a dry run): the body sees its own writes and returns its
    /// value, nothing stays, and a statement error the body swallowed is still reported.
    @Test func transactionRollingBackKeepsNothingAndReportsAnAbort() async throws {
        let (seenInside, kept, abort) = try await withDatabase { db -> (Int?, Int?, PGError?) in
            try db.execute("CREATE TABLE t (id int)")
            let seenInside = try db.withTransaction(rollingBack: true) { db in
                try db.query("INSERT INTO t VALUES (1), (2)")
                return try db.query("SELECT count(*) AS n FROM t").first?.int("n")
            }
            var abort: PGError?
            do {
                try db.withTransaction(rollingBack: true) { db in
                    try db.query("INSERT INTO t VALUES (3)")
                    _ = try? db.query("SELECT 1/0")
                }
            } catch let error as PGError {
                abort = error
            }
            let kept = try db.query("SELECT count(*) AS n FROM t").first?.int("n")
            return (seenInside, kept, abort)
        }
        #expect(seenInside == 2)
        #expect(kept == 0)
        #expect(abort?.message.contains("aborted") == true, "\(String(describing: abort))")
    }

    @Test func advisoryLockHeldByOneIsRefusedToAnother() async throws {
        try await TestSlots.with {
            let database = try await TestDatabase.create(prefix: "libpq")
            let a = try await database.connect()
            let b = try await database.connect()
            #expect(try await a.run { try $0.tryAdvisoryLock(42) })
            #expect(try await b.run { try $0.tryAdvisoryLock(42) } == false)
            #expect(try await a.run { try $0.advisoryUnlock(42) })
            #expect(try await b.run { try $0.tryAdvisoryLock(42) })
            // Transaction-scoped locks end with the transaction.
            let held = try await a.run { db in
                try db.withTransaction { db in
                    try db.advisoryTransactionLock(7)
                    return try b.tryAdvisoryLock(7)
                }
            }
            #expect(held == false)
            #expect(try await b.run { try $0.tryAdvisoryLock(7) })
            a.close()
            b.close()
            await database.drop()
        }
    }

    @Test func copyStreamsTenThousandRowsWithAwkwardCharacters() async throws {
        let result = try await withDatabase { db -> (Int, Int?, String?, String?) in
            try db.execute("CREATE TABLE c (id int PRIMARY KEY, body text, note text)")
            let copied = try db.copyIn("COPY c (id, body, note) FROM STDIN") { writer in
                for i in 0..<10_000 {
                    try writer.writeRow([
                        String(i), "tab\there\nnew line \\ back\\slash \r ✓ \(i)", i % 7 == 0 ? nil : "n",
                    ])
                }
            }
            let stats = try db.query("SELECT count(*) AS n, count(note) AS notes FROM c").first
            let body = try db.query("SELECT body FROM c WHERE id = 9999").first?.string("body")
            return (copied, stats?.int("n"), body, stats?.string("notes"))
        }
        #expect(result.0 == 10_000)
        #expect(result.1 == 10_000)
        #expect(result.2 == "tab\there\nnew line \\ back\\slash \r ✓ 9999")
        #expect(result.3 == String(10_000 - 1429))
    }

    @Test func copyErrorsAreReportedAndTheConnectionStaysUsable() async throws {
        let (error, after) = try await withDatabase { db -> (PGError?, Int?) in
            try db.execute("CREATE TABLE c (id int PRIMARY KEY)")
            var caught: PGError?
            do {
                try db.copyIn("COPY c (id) FROM STDIN") { writer in
                    try writer.writeRow(["1"])
                    try writer.writeRow(["1"])
                }
            } catch let error as PGError {
                caught = error
            }
            struct Stop: Error {}
            _ = try? db.copyIn("COPY c (id) FROM STDIN") { writer in
                try writer.writeRow(["5"])
                throw Stop()
            }
            return (caught, try db.query("SELECT count(*) AS n FROM c").first?.int("n"))
        }
        #expect(error?.sqlState == "23505")
        #expect(after == 0)
    }

    @Test func badConnectionStringNeverShowsThePassword() async throws {
        let secret = "s3cr3t-Pa55"
        for url in [
            "postgresql://mirror:\(secret)@127.0.0.1:1/nowhere?connect_timeout=2",
            "postgresql://mirror:\(secret)@/x?bogus_option=\(secret)",
            "host=127.0.0.1 port=1 password=\(secret) connect_timeout=2",
            "password='\(secret)' this is not a connection string",
        ] {
            do {
                _ = try await PGConnection.connect(url, logger: logger)
                Issue.record("connected to \(url)")
            } catch let error as PGError {
                #expect(error.kind == .connectionFailed)
                #expect(!error.description.contains(secret), "leaked: \(error.description)")
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test func closedConnectionThrows() async throws {
        try await TestSlots.with {
            let database = try await TestDatabase.create(prefix: "libpq")
            let db = try await database.connect()
            db.close()
            db.close()
            #expect(throws: PGError.self) { try db.query("SELECT 1") }
            await database.drop()
        }
    }
}
