import Foundation
import LibPQ

/// Decides whether an app's turn in a `sync` run is due, so that the quota is spent evenly over
/// the window instead of in bursts, and what the schedule leaves goes to reconciliations.
///
/// The quota's pace is how often each app can have a turn: a turn of every polled app (each at
/// what its recent turns cost, at least one rate-limited call) fits in the window this often per
/// identity, once the reconciliations of apps with active hooks (under `run`) had their share at
/// one per `PODIO_RECONCILE_EVERY`. For a polled app that is complete:
/// - **paced**: on a schedule (`run --every`, or cron, whose interval is the spacing of the last
///   runs), an app whose last turn is younger than the pace less half the interval waits for a
///   later run. Turns then come about once a pace, spread over the window. (Spending every free
///   call at once made them bunch: all apps in a few runs, then nothing until calls left the
///   window, which tripled the wait for a change.)
/// - **spent**: an app younger than the pace is not waited for when no call is free now (a
///   schedule faster than the quota allows ends its runs with 0).
///
/// An app with active hooks is reconciled (a delta or a listing) when its last pass is
/// `PODIO_RECONCILE_EVERY` old, as before, and earlier on the calls the polled apps' schedule
/// leaves: at its own pace over those calls (the stalest first, as the run's order is), and only
/// while more calls are free than a turn of every polled app of the identity and this
/// reconciliation cost together, so that it never takes a call a polled app's turn needs;
/// `PODIO_RECONCILE_EVERY` is the longest gap.
struct TurnPacer {
    /// Per identity: the pace of its polled apps, the pace at which the calls they leave
    /// reconcile its hooked apps, and what a turn of each of its polled apps costs in all.
    struct Identity {
        var pollPace: Double
        var reconcilePace: Double
        var polledCost: Double
    }

    var identities: [String: Identity]
    /// Each app's identity, whether it is reconciled rather than polled, and what its turns cost.
    var apps: [Int: (identity: String, hooked: Bool, cost: Double)]
    /// The schedule's interval, when there is one.
    var interval: Double?
    /// The longest gap between reconciliations (`PODIO_RECONCILE_EVERY`), when hooked apps are
    /// reconciled at an interval (`run`).
    var reconcileInterval: Double?

    /// - Parameters:
    ///   - identities: each app's identity (apps without a client are left out).
    ///   - costs: rate-limited calls of each app's recent turns, on average.
    ///   - hooked: apps with active hooks (reconciled, not polled, when `reconcileInterval` is set).
    ///   - allowed: the rate-limited quota less the reserve, per window.
    init(
        order: [Int], identities: [Int: String], costs: [Int: Double], hooked: Set<Int>, reconcileInterval: Double?,
        window: Double, allowed: Int, interval: Double?
    ) {
        let interval = interval.flatMap { $0 > 0 ? $0 : nil }
        let reconcileInterval = reconcileInterval.flatMap { $0 > 0 ? $0 : nil }
        var polled: [String: (cost: Double, apps: Int)] = [:]
        var reconciled: [String: Double] = [:]
        var apps: [Int: (identity: String, hooked: Bool, cost: Double)] = [:]
        for appID in order {
            guard let identity = identities[appID] else { continue }
            let cost = max(1, costs[appID] ?? 1)
            let isHooked = reconcileInterval != nil && hooked.contains(appID)
            apps[appID] = (identity, isHooked, cost)
            if isHooked {
                reconciled[identity, default: 0] += cost
            } else {
                polled[identity, default: (0, 0)].cost += cost
                polled[identity, default: (0, 0)].apps += 1
            }
        }
        let allowed = Double(max(1, allowed))
        var paces: [String: Identity] = [:]
        for identity in Set(apps.values.map(\.identity)) {
            let turns = polled[identity] ?? (0, 0)
            let hookedCost = reconciled[identity] ?? 0
            // The reconciliations' least share: one of each hooked app per PODIO_RECONCILE_EVERY.
            let reserved = reconcileInterval.map { hookedCost * window / max(window / 60, $0) } ?? 0
            // What the polled apps may spend once the reconciliations had theirs (never less
            // than a tenth of the quota: a pace is a bound on bunching, not a promise).
            let pollPace = window * max(1, turns.cost) / max(allowed / 10, allowed - reserved)
            // What the polled apps spend: a turn each per pace, or per run when runs are slower.
            let polledPerWindow = turns.apps == 0 ? 0 : turns.cost * window / max(pollPace, interval ?? pollPace)
            let spare = max(reserved, allowed - polledPerWindow)
            let reconcilePace =
                hookedCost > 0 && spare > 0
                ? min(reconcileInterval ?? .infinity, window * hookedCost / spare) : reconcileInterval ?? .infinity
            paces[identity] = Identity(pollPace: pollPace, reconcilePace: reconcilePace, polledCost: turns.cost)
        }
        self.identities = paces
        self.apps = apps
        self.interval = interval
        self.reconcileInterval = reconcileInterval
    }

    /// Why the app's turn is not due now, or nil when it is. `freeCalls` (rate-limited calls of
    /// the identity free now) is asked only when the answer depends on it.
    func skip(appID: Int, state: SyncState, now: Date, freeCalls: (String) async throws -> Int) async throws
        -> SkippedApp?
    {
        guard let (identity, hooked, cost) = apps[appID], let pace = identities[identity],
            state.lastFullSyncAt != nil, !state.hasUnfinishedFullPass
        else { return nil }
        if hooked {
            return try await reconciliation(appID: appID, state: state, pace: pace, cost: cost, now: now) {
                try await freeCalls(identity)
            }
        }
        guard let bound = state.highWaterMark else { return nil }
        let age = now.timeIntervalSince(bound)
        guard age < pace.pollPace else { return nil }
        let allows = "the quota allows a turn of each app about every \(DurationParser.approximate(pace.pollPace))"
        if let interval, age < pace.pollPace - interval / 2 {
            return SkippedApp(
                appID: appID, reason: .paced,
                detail: "complete up to \(DurationParser.approximate(age)) ago; \(allows), so its next turn is due in "
                    + DurationParser.approximate(pace.pollPace - age))
        }
        guard try await freeCalls(identity) == 0 else { return nil }
        return SkippedApp(
            appID: appID, reason: .fresh,
            detail: "complete up to \(DurationParser.approximate(age)) ago; \(allows) and no call is free now")
    }

    /// An app with active hooks: due at `PODIO_RECONCILE_EVERY`, or earlier at its pace over
    /// the calls the polled apps leave while more than they could take are free.
    private func reconciliation(
        appID: Int, state: SyncState, pace: Identity, cost: Double, now: Date, freeCalls: () async throws -> Int
    ) async throws -> SkippedApp? {
        guard let reconcileInterval,
            let last = [state.lastDeltaSyncAt, state.lastFullSyncAt].compactMap({ $0 }).max()
        else { return nil }
        let age = now.timeIntervalSince(last)
        if age >= reconcileInterval { return nil }
        let early = pace.reconcilePace - (interval ?? 0) / 2
        if age >= early, Double(try await freeCalls()) >= (pace.polledCost + cost).rounded(.up) + 1 { return nil }
        let due = max(0, min(reconcileInterval, max(early, age)) - age)
        return SkippedApp(
            appID: appID, reason: .hooked,
            detail: "active hooks keep it fresh; its reconciliation (a delta) is due in "
                + DurationParser.approximate(due > 0 ? due : reconcileInterval - age)
                + (due > 0 ? "" : ", or sooner when calls are free"))
    }
}
