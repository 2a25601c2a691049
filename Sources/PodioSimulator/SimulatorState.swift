/// Everything the simulator knows, guarded by one `Mutex` in `SimulatorCore`.
/// All methods are synchronous and fast; rendering uses cached item bytes.
struct SimulatorState {
    typealias ControlError = PodioSimulator.ControlError

    let config: PodioSimulator.Configuration
    /// Used in error bodies (`request.url`).
    var baseURL = "http://127.0.0.1"

    var orgs: [SimOrg] = []
    var spaces: [SimSpace] = []
    var apps: [SimApp] = []
    /// app_id → index in `apps`.
    var appIndex: [Int: Int] = [:]
    /// item_id → app_id (deleted items included).
    var itemApp: [Int: Int] = [:]
    var deletedItemIDs: [Int] = []

    var nextOrgID = 736_001
    var nextSpaceID = 2_720_001
    var nextAppID = 10_421_001
    var nextFieldID = 80_608_001
    var nextItemID = 350_000_001
    var nextRevisionID = 1_008_000_001
    /// Comments made through the control API (seeded ones are numbered from their item).
    var nextCommentID = 20_000_000_001
    var nextFileID = 230_000_001

    var tokens: TokenStore
    /// Password grants answer with a two-step verification challenge instead of a token.
    var twoStepVerification: Bool
    /// The token endpoint answers 420 until this monotonic time (its own throttle).
    var tokenThrottledUntil: Double?
    /// Every answer of the token endpoint is delayed this long.
    var tokenDelayMilliseconds = 0
    var limiter = RateLimiter()
    /// Per identity: every call answers 420 until this monotonic time (`Quirks.limitStopsEveryCall`).
    var quotaStoppedUntil: [String: Double] = [:]
    var faults: FaultInjector
    var quirks = PodioSimulator.Quirks()
    var hooks: HookRegistry
    var stats = PodioSimulator.Stats()

    /// Bytes held by item render caches, and the most they may hold.
    var cachedBytes = 0
    static let cacheBudget = 512 * 1024 * 1024

    init(config: PodioSimulator.Configuration) throws(ControlError) {
        self.config = config
        tokens = TokenStore(seed: config.seed)
        twoStepVerification = config.twoStepVerification
        faults = FaultInjector(seed: config.seed)
        hooks = HookRegistry(seed: config.seed)
        resetStats()
        guard config.items >= 0 else { throw .invalid("items must not be negative") }
        if let specs = config.apps {
            try buildCustomDataset(specs)
        } else {
            try buildStandardDataset()
        }
    }

    mutating func resetStats() {
        stats = PodioSimulator.Stats(
            callsByTier: ["rate_limited": 0, "general": 0],
            callsByEndpoint: [:],
            rateLimitErrors: 0,
            errorsServed: 0,
            maxCallsInWindow: ["rate_limited": 0, "general": 0],
            tokenGrants: [:],
            tokenRequests: 0,
            twoStepChallenges: 0
        )
    }

    // MARK: - Lookups

    func app(_ appID: Int) throws(ControlError) -> Int {
        guard let index = appIndex[appID] else { throw .unknownApp(appID) }
        return index
    }

    /// (app index, item index) of an item, deleted or not.
    func locate(_ itemID: Int) -> (app: Int, item: Int)? {
        guard let appID = itemApp[itemID], let appIdx = appIndex[appID],
            let itemIdx = apps[appIdx].itemIndex[itemID]
        else { return nil }
        return (appIdx, itemIdx)
    }

    /// A live item, or the reason there is none.
    func liveItem(_ itemID: Int) throws(ControlError) -> (app: Int, item: Int) {
        guard let location = locate(itemID) else { throw .unknownItem(itemID) }
        if apps[location.app].items[location.item].deleted { throw .itemDeleted(itemID) }
        return location
    }

    func space(_ spaceID: Int) -> SimSpace? {
        spaces.first(where: { $0.id == spaceID })
    }

    func org(_ orgID: Int) -> SimOrg? {
        orgs.first(where: { $0.id == orgID })
    }

    mutating func allocateRevisionID() -> Int {
        defer { nextRevisionID += 1 }
        return nextRevisionID
    }

    /// Render caches of apps whose app-reference fields point into `appID` must be redone
    /// when an item there changes (the mini item shows its title and revision).
    mutating func invalidateReferencesTo(_ appID: Int) {
        for index in apps.indices where apps[index].referencedAppID == appID {
            apps[index].invalidateRendering()
        }
    }
}
