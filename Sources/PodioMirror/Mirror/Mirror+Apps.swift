import Foundation
import LibPQ
import PodioAPI

/// `apps`: the apps the credentials see, always asked of Podio (and cached for the runs: an app
/// marked gone is tried again by the next run if Podio lists it), with the mirror's live counts.
extension Mirror {
    /// One app of the list.
    public struct ListedApp: Sendable {
        public var app: PodioAppSummary
        /// The mirror's live items (nil when the app is not mirrored).
        public var mirroredItems: Int?
        /// Podio's count of the app's items, when asked for.
        public var podioItems: Int?
    }

    /// The visible apps, in Podio's order; with `countItems`, Podio's item count of each (one
    /// rate-limited call per app). Every call goes through the quota ledger, waiting at most a minute.
    public func listApps(transport: any HTTPTransport, countItems: Bool) async throws -> [ListedApp] {
        let session = try await EngineSession.open(
            settings: settings, transport: transport, clock: clock, metrics: MirrorMetrics(), maxWait: 60,
            applicationName: "podio-mirror", logger: logger)
        defer { session.close() }
        let mirrored = try await session.db.run { try MirrorStore(db: $0).items.liveCounts() }
        let (visible, _) = try await AppList.askPodio(
            access: session.access, ledger: session.ledger, db: session.db, clock: clock)
        var listed: [ListedApp] = []
        for app in visible {
            var podioItems: Int?
            if countItems { podioItems = try await session.access.client(for: app.appID).itemCount(appID: app.appID) }
            listed.append(ListedApp(app: app, mirroredItems: mirrored[app.appID], podioItems: podioItems))
        }
        return listed
    }
}
