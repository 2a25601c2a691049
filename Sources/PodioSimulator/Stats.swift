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

        public init(
            callsByTier: [String: Int] = [:], callsByEndpoint: [String: Int] = [:], rateLimitErrors: Int = 0,
            errorsServed: Int = 0, maxCallsInWindow: [String: Int] = [:], tokenGrants: [String: Int] = [:],
            tokenRequests: Int = 0, twoStepChallenges: Int = 0
        ) {
            self.callsByTier = callsByTier
            self.callsByEndpoint = callsByEndpoint
            self.rateLimitErrors = rateLimitErrors
            self.errorsServed = errorsServed
            self.maxCallsInWindow = maxCallsInWindow
            self.tokenGrants = tokenGrants
            self.tokenRequests = tokenRequests
            self.twoStepChallenges = twoStepChallenges
        }
    }
}
