extension PodioSimulator {
    /// Counters of what the simulator served.
    public struct Stats: Sendable, Codable {
        /// "rate_limited", "general": served calls (420s are not counted here).
        public var callsByTier: [String: Int]
        /// e.g. "POST /item/app/{app_id}/filter/".
        public var callsByEndpoint: [String: Int]
        /// 420s served.
        public var rateLimitErrors: Int
        /// All non-2xx served, injected faults included.
        public var errorsServed: Int
        /// Per tier: the largest number of served calls of one identity in any trailing window.
        public var maxCallsInWindow: [String: Int]
        /// Per grant_type: tokens granted.
        public var tokenGrants: [String: Int]
        /// Requests to `/oauth/token` and `/oauth/token/v2`, whatever their answer.
        public var tokenRequests: Int
        /// Password grants answered with a two-step verification challenge (no token).
        public var twoStepChallenges: Int
        /// Served calls by what the request asks for, read from the request alone (see
        /// `Stats.purpose`): "delta", "crowded_second", "sweep", "edited_since", "full_listing",
        /// "other_filter", "invalid_filter", "count", "definition", "item_read", "discovery", or the
        /// endpoint's name for the rest.
        public var callsByPurpose: [String: Int]

        public init(
            callsByTier: [String: Int] = [:], callsByEndpoint: [String: Int] = [:], rateLimitErrors: Int = 0,
            errorsServed: Int = 0, maxCallsInWindow: [String: Int] = [:], tokenGrants: [String: Int] = [:],
            tokenRequests: Int = 0, twoStepChallenges: Int = 0, callsByPurpose: [String: Int] = [:]
        ) {
            self.callsByTier = callsByTier
            self.callsByEndpoint = callsByEndpoint
            self.rateLimitErrors = rateLimitErrors
            self.errorsServed = errorsServed
            self.maxCallsInWindow = maxCallsInWindow
            self.tokenGrants = tokenGrants
            self.tokenRequests = tokenRequests
            self.twoStepChallenges = twoStepChallenges
            self.callsByPurpose = callsByPurpose
        }
    }
}

extension PodioSimulator.Stats {
    /// What a served call is for, from its route and request only (never from the engine's
    /// words): a filter sorted by `last_edit_on` is a delta page; sorted by `item_id`, the micro
    /// view is an ID sweep, a `last_edit_on` range of one second (from == to) the re-read of a
    /// crowded second, an open `last_edit_on` range a listing of what was edited since, and
    /// anything else a full listing.
    static func purpose(of route: APIRoute, _ request: SimRequest) -> String {
        switch route.operation {
        case .filter:
            guard let filter = try? FilterRequest.parse(request.body) else { return "invalid_filter" }
            switch filter.sortBy {
            case "last_edit_on":
                return "delta"
            case "item_id":
                if request.queryValue("fields")?.contains("items.view(micro)") ?? false { return "sweep" }
                if let edited = filter.lastEditOn {
                    if let from = edited.from, from == edited.to { return "crowded_second" }
                    return "edited_since"
                }
                return "full_listing"
            default:
                return "other_filter"
            }
        case .count:
            return "count"
        case .app:
            return "definition"
        case .item:
            return "item_read"
        case .orgs, .org, .orgSpaces, .space, .apps, .appsV2, .appsInSpace:
            return "discovery"
        default:
            return route.name
        }
    }
}
