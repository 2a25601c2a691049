/// Rolling-window call counting per (identity, tier): a call is allowed while fewer than
/// `limit` calls of that identity and tier were served in the trailing `window` seconds.
/// Podio does not say whether its hour is rolling or clock-aligned; a rolling window is
/// the stricter reading (it never allows a burst across a clock boundary).
struct RateLimiter {
    /// Call times (monotonic seconds) in order; `head` skips pruned entries.
    private struct Window {
        var times: [Double] = []
        var head = 0

        var count: Int { times.count - head }

        mutating func prune(before cutoff: Double) {
            while head < times.count && times[head] <= cutoff { head += 1 }
            if head > 1024 && head * 2 > times.count {
                times.removeFirst(head)
                head = 0
            }
        }
    }

    enum Admission {
        /// Served; `count` calls are now in the window (this one included).
        case allowed(remaining: Int, count: Int)
        /// Refused: the oldest call leaves the window in `wait` seconds (rounded up).
        case refused(wait: Int)
    }

    private var windows: [String: Window] = [:]

    private static func key(_ identity: String, _ tier: String) -> String {
        "\(tier)|\(identity)"
    }

    /// Counts a call if the quota allows it. `limit` 0 means unlimited (still counted).
    mutating func admit(identity: String, tier: String, limit: Int, window: Double, now: Double) -> Admission {
        let key = Self.key(identity, tier)
        var current = windows[key] ?? Window()
        current.prune(before: now - window)
        if limit > 0 && current.count >= limit {
            let oldest = current.times[current.head]
            let wait = max(1, Int((oldest + window - now).rounded(.up)))
            windows[key] = current
            return .refused(wait: wait)
        }
        current.times.append(now)
        windows[key] = current
        return .allowed(remaining: limit > 0 ? limit - current.count : Int.max, count: current.count)
    }

    /// Takes back the last counted call (a fault that must not count, like a real 420).
    mutating func revokeLast(identity: String, tier: String) {
        let key = Self.key(identity, tier)
        guard var current = windows[key], current.count > 0 else { return }
        current.times.removeLast()
        windows[key] = current
    }

    /// Seconds until the oldest call of the window leaves it (for an injected 420).
    mutating func secondsUntilSlot(identity: String, tier: String, window: Double, now: Double) -> Int {
        let key = Self.key(identity, tier)
        guard var current = windows[key], current.count > 0 else { return max(1, Int(window.rounded(.up))) }
        current.prune(before: now - window)
        windows[key] = current
        guard current.count > 0 else { return max(1, Int(window.rounded(.up))) }
        return max(1, Int((current.times[current.head] + window - now).rounded(.up)))
    }
}
