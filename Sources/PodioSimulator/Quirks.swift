extension PodioSimulator {
    /// Readings of what Podio leaves undocumented, taken the inconvenient way, so tests can show
    /// that the engine is safe under each (docs/simulator.md, "Quirks"). All off by default.
    public struct Quirks: Sendable, Equatable {
        /// Filter pages hold at most this many items, whatever `limit` asked for (a server that
        /// caps pages below the limit, or drops items the user may not see).
        public var pageCap: Int?
        /// A filter request at exactly this offset answers with no items, `total` and `filtered`
        /// as usual (an empty page in the middle).
        public var emptyPageAtOffset: Int?
        /// Items whose sort keys are equal come in a new random order on every filter request
        /// (Podio documents no tie order).
        public var shuffleTies: Bool
        /// `total` counts this many items more than the credentials can list (items the user
        /// may not see).
        public var hiddenItems: Int
        /// A webhook turns inactive after this many failed deliveries in a row (Podio shows hooks
        /// as inactive "e.g. after failures" but documents no rule; reference §7.4).
        public var hookFailuresToInactive: Int?
        /// The tier of an operation, by its name in `Stats.callsByEndpoint` (e.g. `"GET /org/":
        /// "general"`), instead of the simulator's: Podio marks its "rate limited" operations in
        /// pages no client can read, so a client cannot know any operation's tier before its
        /// first answer (reference §3.5).
        public var tiers: [String: String]
        /// Once a call is refused for the quota of one tier, every call of the identity answers
        /// 420 until that tier has room again ("past the limit, all API calls answer 420",
        /// reference §3.1, §12).
        public var limitStopsEveryCall: Bool
        /// `GET /comment/item/{id}/` ignores `offset` (still checked) and always serves from the
        /// first comment: podio-js sends `offset`, the other official clients never page, and
        /// nothing documents that Podio honours it (reference §12).
        public var commentOffsetIgnored: Bool

        public init(
            pageCap: Int? = nil, emptyPageAtOffset: Int? = nil, shuffleTies: Bool = false, hiddenItems: Int = 0,
            hookFailuresToInactive: Int? = nil, tiers: [String: String] = [:], limitStopsEveryCall: Bool = false,
            commentOffsetIgnored: Bool = false
        ) {
            self.tiers = tiers
            self.limitStopsEveryCall = limitStopsEveryCall
            self.hookFailuresToInactive = hookFailuresToInactive
            self.commentOffsetIgnored = commentOffsetIgnored
            self.pageCap = pageCap
            self.emptyPageAtOffset = emptyPageAtOffset
            self.shuffleTies = shuffleTies
            self.hiddenItems = hiddenItems
        }
    }
}
