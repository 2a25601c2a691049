import Foundation
import LibPQ

/// Decides whether an app's turn in a `sync` run is due, so that the quota is spent evenly over
/// the window instead of in bursts.
///
/// The quota's pace is how often each app can have a turn: a turn of every app (each at what
/// its recent turns cost, at least one rate-limited call) fits in the window this often per
/// identity, less what the reconciliations of apps with active hooks need. Two rules skip an
/// app that is complete and younger than that:
/// - **paced**: on a schedule (`run --every`, or cron, whose interval is the spacing of the last
///   runs), an app whose last turn is younger than the pace less half the interval waits for a
///   later run. Turns then come about once a pace, spread over the window. (Spending every free
///   call at once made them bunch: all apps in a few runs, then nothing until calls left the
///   window, which tripled the wait for a change.)
/// - **spent**: an app younger than the pace is not waited for when no call is free now (a
///   schedule faster than the quota allows ends its runs with 0).
struct TurnPacer {
    /// The pace of each app's identity, in seconds, and whether its hooks keep it fresh (its
    /// turns are its reconciliations, due at their own interval: never paced, only skipped
    /// while the quota is spent).
    var paces: [Int: (identity: String, seconds: Double, hooked: Bool)]
    /// The schedule's interval, when there is one.
    var interval: Double?

    /// - Parameters:
    ///   - identities: each app's identity (apps without a client are left out).
    ///   - costs: rate-limited calls of each app's recent turns, on average.
    ///   - hooked: apps reconciled only every `reconcileInterval` (their hooks keep them fresh).
    init(
        order: [Int], identities: [Int: String], costs: [Int: Double], hooked: Set<Int>, reconcileInterval: Double?,
        window: Double, allowed: Int, interval: Double?
    ) {
        var polled: [String: Double] = [:]
        var reconciled: [String: Double] = [:]
        for appID in order {
            guard let identity = identities[appID] else { continue }
            let cost = max(1, costs[appID] ?? 1)
            if let reconcileInterval, reconcileInterval > 0, hooked.contains(appID) {
                // Its calls per window at one reconciliation per interval.
                reconciled[identity, default: 0] += cost * window / max(window / 60, reconcileInterval)
            } else {
                polled[identity, default: 0] += cost
            }
        }
        let allowed = Double(max(1, allowed))
        var paces: [Int: (identity: String, seconds: Double, hooked: Bool)] = [:]
        for appID in order {
            guard let identity = identities[appID] else { continue }
            let turns = polled[identity] ?? 0
            let reserved = reconciled[identity] ?? 0
            // What the polled apps may spend once the reconciliations had theirs (never less
            // than a tenth of the quota: a pace is a bound on bunching, not a promise).
            let left = max(allowed / 10, allowed - reserved)
            let seconds = window * max(1, turns) / left
            paces[appID] = (identity, seconds, reconcileInterval != nil && hooked.contains(appID))
        }
        self.paces = paces
        self.interval = interval.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Why the app's turn is not due now, or nil when it is. `freeCalls` is asked only when
    /// the answer depends on it.
    func skip(appID: Int, state: SyncState, now: Date, freeCalls: (String) async throws -> Int) async throws
        -> SkippedApp?
    {
        guard let (identity, pace, hooked) = paces[appID], state.lastFullSyncAt != nil, !state.hasUnfinishedFullPass,
            let bound = state.highWaterMark
        else { return nil }
        let age = now.timeIntervalSince(bound)
        guard age < pace else { return nil }
        let allows = "the quota allows a turn of each app about every \(DurationParser.approximate(pace))"
        if let interval, !hooked, age < pace - interval / 2 {
            return SkippedApp(
                appID: appID, reason: .paced,
                detail: "complete up to \(DurationParser.approximate(age)) ago; \(allows), so its next turn is due in "
                    + DurationParser.approximate(pace - age))
        }
        guard try await freeCalls(identity) == 0 else { return nil }
        return SkippedApp(
            appID: appID, reason: .fresh,
            detail: "complete up to \(DurationParser.approximate(age)) ago; \(allows) and no call is free now")
    }
}
