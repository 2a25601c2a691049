/// What the quota allows on the freshness workload, beside what a mode measured (real seconds).
///
/// Polling: with `usable` rate-limited calls a window for `apps` apps and a turn of `c` calls,
/// each app can be polled every cycle = window × apps × c / usable when the turns are spread
/// evenly; a change then waits uniformly 0…cycle, so the median is cycle / 2 and p95 is
/// 0.95 × cycle. The bound takes c = 1 (a quiet or lightly changed app's delta); the same
/// figures at the measured calls per turn tell the cost of a turn apart from how the turns fall.
/// Hooks: a delivered change waits for no poll; the dropped share `drop` waits for a
/// reconciliation that, at the bound, goes round the apps in one cycle, so p95 of all changes is
/// cycle × (1 − 0.05 / drop) (zero when fewer than 5 % are dropped). There is no quota bound for
/// the median.
struct FreshnessBound: Codable, Sendable {
    /// Rate-limited calls a window the engine may spend: the quota less its 5 % reserve.
    var usableRateLimitedCalls: Int
    /// One turn of every app at one call a turn.
    var cycleSeconds: Double
    var medianBoundSeconds: Double?
    var p95BoundSeconds: Double?
    /// Measured over bound.
    var medianRatio: Double?
    var p95Ratio: Double?
    /// Measured p95 over the cycle (the target for polling: ≤ 1.3).
    var p95ToCycle: Double?
    /// The cycle and the median bound at the calls per turn the engine spent.
    var cycleAtMeasuredCostSeconds: Double?
    var medianBoundAtMeasuredCostSeconds: Double?

    /// The engine's default: the quota less 5 %, rounded up (QuotaPolicy.allowed).
    static func usable(quota: Int, reservePercent: Int = 5) -> Int {
        max(1, quota - (quota * reservePercent + 99) / 100)
    }

    static func polling(
        apps: Int, quota: Int, windowSeconds: Double = 3600, callsPerTurn: Double?, median: Double?, p95: Double?
    ) -> FreshnessBound {
        let usable = usable(quota: quota)
        let cycle = windowSeconds * Double(apps) / Double(usable)
        var bound = FreshnessBound(usableRateLimitedCalls: usable, cycleSeconds: cycle)
        bound.medianBoundSeconds = cycle / 2
        bound.p95BoundSeconds = cycle * 0.95
        bound.medianRatio = median.map { $0 / (cycle / 2) }
        bound.p95Ratio = p95.map { $0 / (cycle * 0.95) }
        bound.p95ToCycle = p95.map { $0 / cycle }
        if let callsPerTurn {
            bound.cycleAtMeasuredCostSeconds = cycle * callsPerTurn
            bound.medianBoundAtMeasuredCostSeconds = cycle * callsPerTurn / 2
        }
        return bound
    }

    static func hooks(apps: Int, quota: Int, windowSeconds: Double = 3600, drop: Double, p95: Double?)
        -> FreshnessBound
    {
        let usable = usable(quota: quota)
        let cycle = windowSeconds * Double(apps) / Double(usable)
        var bound = FreshnessBound(usableRateLimitedCalls: usable, cycleSeconds: cycle)
        let p95Bound = drop > 0.05 ? cycle * (1 - 0.05 / drop) : 0
        bound.p95BoundSeconds = p95Bound
        bound.p95Ratio = p95Bound > 0 ? p95.map { $0 / p95Bound } : nil
        bound.p95ToCycle = p95.map { $0 / cycle }
        return bound
    }
}
