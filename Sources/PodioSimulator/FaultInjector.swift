/// Pending injected faults: counted ones (the next N calls that can take them) and rated
/// ones (a seeded fraction of calls, until cleared).
struct FaultInjector {
    typealias Fault = PodioSimulator.Fault

    private var counted: [(fault: Fault, remaining: Int)] = []
    private var rated: [(fault: Fault, rate: Double)] = []
    private var random: SplitMix64

    init(seed: UInt64) {
        random = SplitMix64(seed: seed, 0xFA17)
    }

    mutating func add(_ fault: Fault, count: Int, rate: Double?) {
        if let rate {
            rated.append((fault, min(1, max(0, rate))))
        } else if count > 0 {
            counted.append((fault, count))
        }
    }

    mutating func clear() {
        counted.removeAll()
        rated.removeAll()
    }

    /// The fault the current API call takes, if any. Filter-only kinds wait for a filter call.
    mutating func take(isFilter: Bool) -> Fault? {
        if let index = counted.firstIndex(where: { isFilter || !$0.fault.filterOnly }) {
            let fault = counted[index].fault
            counted[index].remaining -= 1
            if counted[index].remaining <= 0 { counted.remove(at: index) }
            return fault
        }
        for entry in rated where isFilter || !entry.fault.filterOnly {
            if random.chance(entry.rate) { return entry.fault }
        }
        return nil
    }

    /// A rotating 5xx status for `serverError`.
    mutating func serverErrorStatus() -> Int {
        [500, 502, 503][Int(random.next() % 3)]
    }
}
