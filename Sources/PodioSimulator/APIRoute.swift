/// The API operations the simulator serves, matched strictly by method and path:
/// collections end with '/', single objects do not (Podio's API is slash-aware).
struct APIRoute: Sendable {
    enum Operation: Sendable {
        case orgs, org, orgSpaces, space, apps, appsV2, appsInSpace, app, filter, count, item, itemComments, fileRaw
        case hookCreate, hookList, hookDelete, hookVerifyRequest, hookValidate
        case itemRevisions, itemRevision, itemRevisionDiff
    }

    static let rateLimitedTier = "rate_limited"
    static let generalTier = "general"

    var operation: Operation
    var method: String
    /// Path segments; "#" is a numeric id.
    var pattern: [String]
    var tier: String
    /// The endpoint name in stats, e.g. "POST /item/app/{app_id}/filter/".
    var name: String

    static let all: [APIRoute] = [
        APIRoute(operation: .orgs, method: "GET", pattern: ["org", ""], tier: generalTier, name: "GET /org/"),
        APIRoute(operation: .org, method: "GET", pattern: ["org", "#"], tier: generalTier, name: "GET /org/{org_id}"),
        APIRoute(
            operation: .orgSpaces, method: "GET", pattern: ["org", "#", "space", ""], tier: generalTier,
            name: "GET /org/{org_id}/space/"),
        APIRoute(
            operation: .space, method: "GET", pattern: ["space", "#"], tier: generalTier, name: "GET /space/{space_id}"),
        APIRoute(operation: .apps, method: "GET", pattern: ["app", ""], tier: rateLimitedTier, name: "GET /app/"),
        APIRoute(
            operation: .appsV2, method: "GET", pattern: ["app", "v2", ""], tier: rateLimitedTier, name: "GET /app/v2/"),
        APIRoute(
            operation: .appsInSpace, method: "GET", pattern: ["app", "space", "#", ""], tier: rateLimitedTier,
            name: "GET /app/space/{space_id}/"),
        APIRoute(operation: .app, method: "GET", pattern: ["app", "#"], tier: generalTier, name: "GET /app/{app_id}"),
        APIRoute(
            operation: .filter, method: "POST", pattern: ["item", "app", "#", "filter", ""], tier: rateLimitedTier,
            name: "POST /item/app/{app_id}/filter/"),
        APIRoute(
            operation: .count, method: "GET", pattern: ["item", "app", "#", "count"], tier: rateLimitedTier,
            name: "GET /item/app/{app_id}/count"),
        APIRoute(
            operation: .item, method: "GET", pattern: ["item", "#"], tier: generalTier, name: "GET /item/{item_id}"),
        APIRoute(
            operation: .itemComments, method: "GET", pattern: ["comment", "item", "#", ""], tier: generalTier,
            name: "GET /comment/item/{item_id}/"),
        APIRoute(
            operation: .itemRevisions, method: "GET", pattern: ["item", "#", "revision", ""], tier: generalTier,
            name: "GET /item/{item_id}/revision/"),
        APIRoute(
            operation: .itemRevision, method: "GET", pattern: ["item", "#", "revision", "#"], tier: generalTier,
            name: "GET /item/{item_id}/revision/{revision}"),
        APIRoute(
            operation: .itemRevisionDiff, method: "GET", pattern: ["item", "#", "revision", "#", "#"],
            tier: generalTier,
            name: "GET /item/{item_id}/revision/{revision_from}/{revision_to}"),
        APIRoute(
            operation: .fileRaw, method: "GET", pattern: ["file", "#", "raw"], tier: generalTier,
            name: "GET /file/{file_id}/raw"),
        APIRoute(
            operation: .hookCreate, method: "POST", pattern: ["hook", "app", "#", ""], tier: generalTier,
            name: "POST /hook/app/{app_id}/"),
        APIRoute(
            operation: .hookList, method: "GET", pattern: ["hook", "app", "#", ""], tier: generalTier,
            name: "GET /hook/app/{app_id}/"),
        APIRoute(
            operation: .hookDelete, method: "DELETE", pattern: ["hook", "#"], tier: generalTier,
            name: "DELETE /hook/{hook_id}"),
        APIRoute(
            operation: .hookVerifyRequest, method: "POST", pattern: ["hook", "#", "verify", "request"],
            tier: generalTier,
            name: "POST /hook/{hook_id}/verify/request"),
        APIRoute(
            operation: .hookValidate, method: "POST", pattern: ["hook", "#", "verify", "validate"], tier: generalTier,
            name: "POST /hook/{hook_id}/verify/validate"),
    ]

    /// The route and its numeric parameters, or nil (404: no matching operation).
    static func match(method: String, path: String) -> (route: APIRoute, ids: [Int])? {
        guard path.hasPrefix("/") else { return nil }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        for route in all where route.method == method && route.pattern.count == segments.count {
            var ids: [Int] = []
            var matched = true
            for (expected, actual) in zip(route.pattern, segments) {
                if expected == "#" {
                    guard !actual.isEmpty,
                        actual.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                        let id = Int(actual)
                    else { matched = false; break }
                    ids.append(id)
                } else if expected != actual {
                    matched = false
                    break
                }
            }
            if matched { return (route, ids) }
        }
        return nil
    }
}
