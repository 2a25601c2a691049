import PodioSimulator

/// The steady stream of changes the freshness bench makes through the simulator, and the
/// changes the mirror has not shown yet. An item with a change in flight gets no other change,
/// so every change is seen by itself.
struct ChangeStream {
    enum Kind: String, Sendable, Codable {
        case create, edit, delete
    }

    struct Change: Sendable {
        var kind: Kind
        var appID: Int
        var itemID: Int
        /// The revision the row must show (creates and edits).
        var revision: Int
        /// Wall time (ContinuousClock) the simulator applied it.
        var applied: ContinuousClock.Instant
    }

    /// Live items per app with their current revision.
    private(set) var live: [Int: [Int: Int]]
    private(set) var pending: [Int: Change] = [:]
    private(set) var applied: [Kind: Int] = [:]
    private var random: BenchRandom
    private let appIDs: [Int]

    init(live: [Int: [Int: Int]], seed: UInt64) {
        self.live = live
        appIDs = live.keys.sorted()
        random = BenchRandom(seed: seed)
    }

    /// One change on a random app: 30 % creates, 50 % edits, 20 % deletes (a create when the
    /// app has no item free of a change in flight).
    mutating func next(on simulator: PodioSimulator) throws {
        let appID = appIDs[random.below(appIDs.count)]
        let roll = random.below(100)
        let free = (live[appID] ?? [:]).keys.filter { pending[$0] == nil }.sorted()
        if roll < 30 || free.isEmpty {
            let itemID = try simulator.createItem(appID: appID)
            live[appID, default: [:]][itemID] = 0
            record(Change(kind: .create, appID: appID, itemID: itemID, revision: 0, applied: .now))
        } else if roll < 80 {
            let itemID = free[random.below(free.count)]
            try simulator.editItem(itemID: itemID)
            let revision = (live[appID]?[itemID] ?? 0) + 1
            live[appID]?[itemID] = revision
            record(Change(kind: .edit, appID: appID, itemID: itemID, revision: revision, applied: .now))
        } else {
            let itemID = free[random.below(free.count)]
            try simulator.deleteItem(itemID: itemID)
            live[appID]?[itemID] = nil
            record(Change(kind: .delete, appID: appID, itemID: itemID, revision: 0, applied: .now))
        }
    }

    private mutating func record(_ change: Change) {
        pending[change.itemID] = change
        applied[change.kind, default: 0] += 1
    }

    /// The change of an item is seen: it leaves the set in flight.
    mutating func resolve(_ itemID: Int) -> Change? {
        pending.removeValue(forKey: itemID)
    }
}

/// SplitMix64, so the same seed makes the same stream.
struct BenchRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed ^ 0x5EED_F00D }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }
}
