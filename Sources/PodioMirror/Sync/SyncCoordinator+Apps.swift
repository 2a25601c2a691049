import Foundation
import LibPQ
import PodioAPI

/// The apps of a run: resolved (the options, the settings, the app tokens or the cached app
/// list), put in order of need with the gone ones left out, and claimed under their locks.
extension SyncCoordinator {
    /// The apps of the run (`resolveApps`); refused credentials and the like still leave a
    /// trace for `status`, and a deferral (the token endpoint's throttle) is recorded as one.
    func resolveAppsOrRecord(
        options: SyncOptions, kindName: String, access: PodioAccess, db: PGConnection, ledger: QuotaLedger
    ) async throws -> [Int] {
        do {
            return try await resolveApps(options: options, access: access, db: db, ledger: ledger)
        } catch {
            let classified = MirrorError(classifying: error)
            let message = access.redact(classified.description)
            let deferredUntil = (error as? any RunDeferral)?.freesAt
            _ = try? await db.run {
                try MirrorStore(db: $0).runs.recordRunThatDidNotStart(
                    kind: kindName, message: message, deferredUntil: deferredUntil, category: classified.category.name)
            }
            throw error
        }
    }

    /// The apps a run works through and how far it got with taking them.
    struct RunPlan {
        var selected: [Int]
        /// Apps Podio stopped serving: they wait for the next refresh of the app list.
        var gone: [Int: GoneApp]
        /// The rest, in order of need.
        var order: [Int]
        var claimed = Set<Int>()
        var held: [Int] = []
        /// Apps with active webhooks (when the run reconciles them at an interval).
        var hooked: [Int: Date] = [:]
        /// When the plan was made (gone apps marked since then are new to this run).
        var at: Date
    }

    func plan(_ selected: [Int], options: SyncOptions, db: PGConnection) async throws -> RunPlan {
        let now = clock.now()
        let appsRefresh = settings.appsRefresh
        let dryRun = options.dryRun
        let (gone, order) = try await db.run { db -> ([Int: GoneApp], [Int]) in
            let store = MirrorStore(db: db)
            if !dryRun { try store.scheduling.markSelected(selected, now: now) }
            let gone = try store.scheduling.goneApps(among: selected, within: appsRefresh, now: now)
            return (
                gone,
                try store.scheduling.appsInNeed(
                    selected.filter { gone[$0] == nil }, fullPasses: options.kind == .resync)
            )
        }
        return RunPlan(selected: selected, gone: gone, order: order, at: now)
    }

    /// Takes the run's apps: all free ones at once, or the first one free (the rest as the run
    /// goes). A run that can take none throws `AllAppsHeld`.
    func claimAtStart(_ plan: inout RunPlan, options: SyncOptions, db: PGConnection) async throws {
        guard !plan.order.isEmpty else { return }
        switch options.claiming {
        case .allAtStart:
            let order = plan.order
            plan.claimed = Set(try await db.run { try MirrorStore(db: $0).scheduling.claimAll(order) })
            plan.held = order.filter { !plan.claimed.contains($0) }
        case .oneAtATime:
            for appID in plan.order {
                if try await db.run({ try MirrorStore(db: $0).scheduling.claim(appID: appID) }) {
                    plan.claimed.insert(appID)
                    break
                }
                plan.held.append(appID)
            }
        }
        if plan.claimed.isEmpty { throw AllAppsHeld(appID: plan.order[0]) }
    }

    /// `--app`, then `PODIO_APPS`, then the app-auth apps, then every app the user sees: from
    /// the list cached in PostgreSQL while it is younger than `PODIO_APPS_REFRESH` and was made
    /// for these credentials, else asked of Podio (by one process at a time) and cached.
    func resolveApps(options: SyncOptions, access: PodioAccess, db: PGConnection, ledger: QuotaLedger) async throws
        -> [Int]
    {
        if let apps = options.apps, !apps.isEmpty { return apps }
        if let apps = settings.apps, !apps.isEmpty { return apps }
        if access.userClient == nil { return settings.appTokens.keys.sorted() }
        let identity = access.listIdentity
        let maxAge = settings.appsRefresh
        let clock = self.clock
        if let cached = try await db.run({
            try MirrorStore(db: $0).scheduling.cachedAppList(identity: identity, maxAge: maxAge, now: clock.now())
        }) {
            return cached
        }
        // One process lists the apps; one that waited reads what it stored.
        let waitUntil = clock.now().addingTimeInterval(120)
        var locked = false
        while !locked && clock.now() < waitUntil {
            locked = try await db.run { try MirrorStore(db: $0).scheduling.tryLockAppList() }
            if !locked {
                try await clock.sleep(until: clock.now().addingTimeInterval(0.2))
                if let cached = try await db.run({
                    try MirrorStore(db: $0).scheduling.cachedAppList(
                        identity: identity, maxAge: maxAge, now: clock.now())
                }) {
                    return cached
                }
            }
        }
        do {
            let (apps, calls) = try await AppList.askPodio(access: access, ledger: ledger, db: db, clock: clock)
            logger.info("app list asked of Podio", metadata: ["apps": "\(apps.count)", "calls": "\(calls)"])
            if locked { _ = try? await db.run { try MirrorStore(db: $0).scheduling.unlockAppList() } }
            return apps.map(\.appID)
        } catch {
            if locked { _ = try? await db.run { try MirrorStore(db: $0).scheduling.unlockAppList() } }
            throw error
        }
    }
}
