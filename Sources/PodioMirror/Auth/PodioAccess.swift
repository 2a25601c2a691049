import Foundation
import Logging
import PodioAPI

/// The Podio clients of a run: one for the user identity, one per app-auth app.
public struct PodioAccess: Sendable {
    public let userClient: PodioClient?
    public let appClients: [Int: PodioClient]

    public init(
        settings: MirrorSettings, apiKey: PodioAPIKey, transport: any HTTPTransport, tokenStore: (any TokenStore)?,
        gate: any CallGate, clock: any WallClock = SystemClock(), logger: Logger
    ) {
        func make(_ credentials: PodioCredentials) -> PodioClient {
            var configuration = PodioClient.Configuration(
                apiURL: settings.apiURL, apiKey: apiKey, credentials: credentials)
            configuration.requestTimeout = settings.requestTimeout
            configuration.retry = settings.retry
            return PodioClient(
                configuration: configuration, transport: transport, tokenStore: tokenStore, gate: gate, clock: clock,
                logger: logger)
        }
        userClient = settings.userCredentials.map(make)
        var apps: [Int: PodioClient] = [:]
        for (appID, token) in settings.appTokens { apps[appID] = make(.app(appID: appID, appToken: token)) }
        appClients = apps
    }

    /// The client for an app: its app-auth client, else the user's.
    public func client(for appID: Int) throws -> PodioClient {
        if let client = appClients[appID] ?? userClient { return client }
        throw MirrorError(
            .usage, "no credentials can reach app \(appID)",
            fix: "add \(appID):APP_TOKEN to PODIO_APP_AUTH, or set PODIO_USERNAME and PODIO_PASSWORD")
    }

    /// Every app the credentials see, by Podio's documented walk: `GET /org/` (the user's
    /// organizations with their spaces; `GET /org/{id}/space/` for an organization served
    /// without them), then `GET /app/space/{id}/?include_inactive=1` per space, which lists
    /// all of a space's apps in one answer (it takes no limit or offset); plus the app-auth
    /// apps. The undocumented `GET /app/` is not used: nothing says it lists every app (its
    /// documented sibling `GET /app/v2/` serves 4 unless asked for more). Every call goes
    /// through the quota ledger like any other; a space the user lost access to between the
    /// calls is skipped.
    public func visibleApps() async throws -> [PodioAppSummary] {
        try await visibleAppsAndPlaces().apps
    }

    /// `visibleApps`, with the organizations and spaces the walk went through (`podio.orgs`,
    /// `podio.spaces`; no call more).
    public func visibleAppsAndPlaces() async throws -> (apps: [PodioAppSummary], places: PodioPlaces) {
        var apps: [PodioAppSummary] = []
        var seenApps: Set<Int> = []
        var places = PodioPlaces()
        if let userClient {
            var seenSpaces: Set<Int> = []
            for org in try await userClient.organizations() {
                var spaces = org.spaces ?? []
                if org.spaces == nil { spaces = try await userClient.spaces(organizationID: org.orgID) }
                places.orgs.append(org)
                for space in spaces where seenSpaces.insert(space.spaceID).inserted {
                    var space = space
                    space.orgID = space.orgID ?? org.orgID
                    places.spaces.append(space)
                    let listed: [PodioAppSummary]
                    do {
                        listed = try await userClient.apps(spaceID: space.spaceID, includeInactive: true)
                    } catch let error as PodioError
                        where error.isRefusedOrGone
                    {
                        continue
                    }
                    for app in listed where seenApps.insert(app.appID).inserted { apps.append(app) }
                }
            }
        }
        for (appID, client) in appClients.sorted(by: { $0.key < $1.key }) where !seenApps.contains(appID) {
            let app = try await client.app(appID)
            apps.append(
                PodioAppSummary(
                    appID: app.appID, spaceID: app.spaceID, status: app.status, urlLabel: app.urlLabel, name: app.name))
        }
        return (apps.sorted { $0.appID < $1.appID }, places)
    }

    /// Whose view of Podio an app list is: the identities of every client (none of them secret).
    public var listIdentity: String {
        ([userClient?.identity].compactMap { $0 } + appClients.keys.sorted().compactMap { appClients[$0]?.identity })
            .joined(separator: " ")
    }

    /// Redacts the secrets of every client from a text.
    public func redact(_ text: String) -> String {
        var text = text
        if let userClient { text = userClient.redact(text) }
        for client in appClients.values { text = client.redact(text) }
        return text
    }

    /// HTTP and decoding time of all clients.
    public var stats: ClientStats {
        var total = ClientStats()
        for client in [userClient].compactMap({ $0 }) + Array(appClients.values) {
            let s = client.stats
            total.requests += s.requests
            total.httpSeconds += s.httpSeconds
            total.decodeSeconds += s.decodeSeconds
            total.bytesReceived += s.bytesReceived
        }
        return total
    }
}
