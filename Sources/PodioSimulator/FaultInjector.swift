/// Pending injected faults: counted ones (the next N calls that can take them) and rated
/// ones (a seeded fraction of calls, until cleared), each for every API call or only for calls
/// to one path (one object that fails while the others are served).
struct FaultInjector {
    typealias Fault = PodioSimulator.Fault

    private var counted: [(fault: Fault, remaining: Int, path: String?)] = []
    private var rated: [(fault: Fault, rate: Double, path: String?)] = []
    private var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed, 0xFA17)
    }

    mutating func add(_ fault: Fault, count: Int, rate: Double?, path: String? = nil) {
        if let rate {
            rated.append((fault, min(1, max(0, rate)), path))
        } else if count > 0 {
            counted.append((fault, count, path))
        }
    }

    mutating func clear() {
        counted.removeAll()
        rated.removeAll()
    }

    /// The fault the current API call (to `path`) takes, if any. Filter-only kinds wait for a
    /// filter call; faults for a path wait for a call to it.
    mutating func take(isFilter: Bool, path: String) -> Fault? {
        func fits(_ fault: Fault, _ only: String?) -> Bool {
            (isFilter || !fault.filterOnly) && (only == nil || only == path)
        }
        if let index = counted.firstIndex(where: { fits($0.fault, $0.path) }) {
            let fault = counted[index].fault
            counted[index].remaining -= 1
            if counted[index].remaining <= 0 { counted.remove(at: index) }
            return fault
        }
        for entry in rated where fits(entry.fault, entry.path) {
            if random.chance(entry.rate) { return entry.fault }
        }
        return nil
    }

    /// A rotating 5xx status for `serverError`.
    mutating func serverErrorStatus() -> Int {
        [500, 502, 503][Int(random.next() % 3)]
    }
}
