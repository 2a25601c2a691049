/// Podio answered 403, 404 or 410 for an app's definition or items: the app is gone for these
/// credentials. The run marks it, skips it until the app list is refreshed, and goes on.
struct AppGoneError: Error, Sendable, CustomStringConvertible {
    var appID: Int
    var status: Int?
    /// What answered so, e.g. `GET /app/{app_id}`.
    var endpoint: String

    var description: String {
        "app \(appID) is not visible to these credentials (Podio answered \(status.map(String.init) ?? "an error") on \(endpoint))"
    }
}
