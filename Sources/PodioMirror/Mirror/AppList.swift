import Foundation
import LibPQ
import PodioAPI

/// The apps the credentials see, asked of Podio and cached in `podio.app_list` for the runs
/// (`PODIO_APPS_REFRESH`): what `apps` prints and what a run without `PODIO_APPS` works through.
enum AppList {
    /// Asks Podio for the visible apps (and their spaces), stores the list for `identity` with
    /// the rate-limited calls it took, and returns it with that count.
    static func askPodio(
        access: PodioAccess, ledger: QuotaLedger, db: PGConnection, clock: any WallClock
    ) async throws -> (apps: [PodioAppSummary], calls: Int) {
        let identity = access.listIdentity
        let before = await ledger.snapshot()
        let (apps, places) = try await access.visibleAppsAndPlaces()
        let calls = await ledger.snapshot().rateLimited - before.rateLimited
        let now = clock.now()
        try await db.run {
            try MirrorStore(db: $0).scheduling.storeAppList(
                apps, places: places, identity: identity, callsRateLimited: calls, now: now)
        }
        return (apps, calls)
    }
}
