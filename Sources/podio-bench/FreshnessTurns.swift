import LibPQ

/// How the engine's turns fell during a mode of the freshness bench, read from its own records
/// (`podio.app_passes`, `podio.sync_runs`) before the database is dropped. Every duration is in
/// real seconds (wall seconds × the time scale).
struct FreshnessTurns: Codable, Sendable {
    /// The measured period (stream and drain, until the engine stopped).
    var periodSeconds: Double = 0
    /// App passes started in the period, and by "mode/status" (e.g. "delta/succeeded").
    var passes = 0
    var passesByModeStatus: [String: Int] = [:]
    /// Passes that were not deferred, per app and real hour.
    var turnsPerAppHour: Double?
    /// Rate-limited calls per pass that was not deferred, by pass mode and over all of them.
    var rateLimitedCallsPerTurn: [String: Double] = [:]
    var rateLimitedCallsPerTurnAll: Double?
    /// Between two consecutive passes (not deferred) of one app, over all apps.
    var gapP50Seconds: Double?
    var gapP95Seconds: Double?
    var gapMaxSeconds: Double?
    /// Runs started in the period, and those that deferred (no call free).
    var runs = 0
    var deferredRuns = 0
    /// Rate-limited calls counted by the runs, and by their passes (the rest: discovery, app lists).
    var rateLimitedCallsInRuns = 0
    var rateLimitedCallsInPasses = 0
    /// Rate-limited calls of the passes by the slice of the period their pass started in; a
    /// slice is a tenth of the rate window (360 real seconds).
    var sliceSeconds: Double = 360
    var callsPerSlice: [Int] = []

    /// The database's clock, in epoch seconds (the engine's records carry the same clock).
    static func now(_ db: PGConnection) async throws -> Double {
        let rows = try await db.run { db in
            try db.query("SELECT extract(epoch FROM clock_timestamp())::float8 AS now").rows
        }
        guard let now = rows.first?.double("now") else { throw Bench.Failure("the database did not tell its time") }
        return now
    }

    /// The figures of the passes and runs started from `from` to `to` (epoch seconds of the
    /// database), for `apps` apps, with `scale` real seconds per wall second and a real window.
    static func read(
        _ db: PGConnection, from: Double, to: Double, apps: Int, scale: Double, windowSeconds: Double = 3600
    ) async throws -> FreshnessTurns {
        let passRows = try await db.run { db in
            try db.query(
                """
                SELECT app_id, mode, status, extract(epoch FROM started_at)::float8 AS started, calls_rate_limited
                FROM podio.app_passes
                WHERE started_at >= to_timestamp($1) AND started_at <= to_timestamp($2)
                ORDER BY app_id, started_at, pass_id
                """, [from, to]
            ).rows
        }
        let runRows = try await db.run { db in
            try db.query(
                """
                SELECT status, calls_rate_limited FROM podio.sync_runs
                WHERE started_at >= to_timestamp($1) AND started_at <= to_timestamp($2)
                """, [from, to]
            ).rows
        }
        var turns = FreshnessTurns()
        turns.periodSeconds = (to - from) * scale
        turns.sliceSeconds = windowSeconds / 10
        let slices = max(1, Int((turns.periodSeconds / turns.sliceSeconds).rounded(.up)))
        turns.callsPerSlice = Array(repeating: 0, count: slices)
        var callsByMode: [String: Int] = [:]
        var turnsByMode: [String: Int] = [:]
        var lastStart: [Int: Double] = [:]
        var gaps: [Double] = []
        for row in passRows {
            guard let appID = row.int("app_id"), let started = row.double("started") else { continue }
            let mode = row.string("mode") ?? "?"
            let status = row.string("status") ?? "?"
            let calls = row.int("calls_rate_limited") ?? 0
            turns.passes += 1
            turns.passesByModeStatus["\(mode)/\(status)", default: 0] += 1
            turns.rateLimitedCallsInPasses += calls
            let slice = min(slices - 1, max(0, Int((started - from) * scale / turns.sliceSeconds)))
            turns.callsPerSlice[slice] += calls
            guard status != "deferred" else { continue }
            callsByMode[mode, default: 0] += calls
            turnsByMode[mode, default: 0] += 1
            if let previous = lastStart[appID] { gaps.append((started - previous) * scale) }
            lastStart[appID] = started
        }
        for (mode, count) in turnsByMode where count > 0 {
            turns.rateLimitedCallsPerTurn[mode] = Double(callsByMode[mode] ?? 0) / Double(count)
        }
        let allTurns = turnsByMode.values.reduce(0, +)
        if allTurns > 0 {
            turns.rateLimitedCallsPerTurnAll = Double(callsByMode.values.reduce(0, +)) / Double(allTurns)
            if turns.periodSeconds > 0, apps > 0 {
                turns.turnsPerAppHour = Double(allTurns) / Double(apps) / (turns.periodSeconds / 3600)
            }
        }
        gaps.sort()
        turns.gapP50Seconds = FreshnessReport.percentile(gaps, 50)
        turns.gapP95Seconds = FreshnessReport.percentile(gaps, 95)
        turns.gapMaxSeconds = gaps.last
        for row in runRows {
            turns.runs += 1
            if row.string("status") == "deferred" { turns.deferredRuns += 1 }
            turns.rateLimitedCallsInRuns += row.int("calls_rate_limited") ?? 0
        }
        return turns
    }
}
