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
        /// `GET /comment/item/{id}/` ignores `offset` (still checked): every call answers from the
        /// first comment (only podio-js sends `offset`; Podio documents no paging for comments).
        public var commentsIgnoreOffset: Bool
        /// `GET /comment/item/{id}/` answers at most this many comments, whatever `limit` asked
        /// for (an undocumented maximum page size below the limit asked).
        public var commentPageCap: Int?
        /// `GET /file/{id}/raw` answers 302 with a `Location` on files.podio.com instead of the
        /// bytes (whether Podio redirects downloads is not documented).
        public var fileRawRedirect: Bool

        /// How webhook deliveries are encoded (Podio documents no content type): form (the
        /// default), multipart or JSON. `hook.verify` too.
        public var hookBodyFormat: HookBodyFormat
        /// Events (not `hook.verify`) arrive without `hook_id` (Podio does not say every event
        /// carries it; podio-dotnet reads it only for the verification).
        public var hookEventsWithoutHookID: Bool
        /// Podio stores a hook's URL normalised (scheme and host lower case, a trailing slash
        /// added to the path), lists it so and posts to it: an exact match on the URL given fails.
        public var hookURLNormalized: Bool

        public init(
            pageCap: Int? = nil, emptyPageAtOffset: Int? = nil, shuffleTies: Bool = false, hiddenItems: Int = 0,
            hookFailuresToInactive: Int? = nil, tiers: [String: String] = [:], limitStopsEveryCall: Bool = false,
            commentsIgnoreOffset: Bool = false, commentPageCap: Int? = nil, fileRawRedirect: Bool = false,
            hookBodyFormat: HookBodyFormat = .form, hookEventsWithoutHookID: Bool = false,
            hookURLNormalized: Bool = false
        ) {
            self.tiers = tiers
            self.limitStopsEveryCall = limitStopsEveryCall
            self.hookFailuresToInactive = hookFailuresToInactive
            self.commentsIgnoreOffset = commentsIgnoreOffset
            self.commentPageCap = commentPageCap
            self.fileRawRedirect = fileRawRedirect
            self.hookBodyFormat = hookBodyFormat
            self.hookEventsWithoutHookID = hookEventsWithoutHookID
            self.hookURLNormalized = hookURLNormalized
            self.pageCap = pageCap
            self.emptyPageAtOffset = emptyPageAtOffset
            self.shuffleTies = shuffleTies
            self.hiddenItems = hiddenItems
        }
    }
}
