/// The webhooks, the deliveries they owe and the faults applied to them (inside
/// `SimulatorState`, so under its lock). Deliveries wait in `outbox` until `SimulatorCore`
/// hands them to the `HookDispatcher` after the lock is released.
struct HookRegistry {
    typealias Faults = PodioSimulator.HookFaults

    var hooks: [SimHook] = []
    /// hook_id → index in `hooks`.
    var index: [Int: Int] = [:]
    var nextHookID = 5_100_001
    private(set) var faults = Faults()
    private var random: SplitMix64
    private var codes: SplitMix64
    /// Set for the duration of one change made with `hook=false`.
    var suppressing = false
    /// Deliveries waiting for their reorder window.
    var held: [HookDelivery] = []
    /// Whether a flush of `held` is scheduled.
    var flushScheduled = false
    /// Deliveries to send as soon as the lock is released.
    var outbox: [HookDelivery] = []

    init(seed: UInt64) {
        random = SplitMix64(seed: Faults().seed, 0x400C)
        codes = SplitMix64(seed: seed, 0xC0DE5)
    }

    mutating func setFaults(_ faults: Faults) {
        self.faults = faults
        random = SplitMix64(seed: faults.seed, 0x400C)
        // A flush scheduled under the old hold time may be far off: let the next one be scheduled.
        flushScheduled = false
    }

    func hook(_ hookID: Int) -> SimHook? {
        index[hookID].map { hooks[$0] }.flatMap { $0.deleted ? nil : $0 }
    }

    func liveCount(appID: Int, type: String) -> Int {
        hooks.filter { !$0.deleted && $0.appID == appID && $0.type == type }.count
    }

    /// A new inactive hook; its `hook.verify` is queued at once.
    mutating func create(appID: Int, type: String, url: String, parsed: HookURL, now: Int) -> Int {
        let id = nextHookID
        nextHookID += 1
        index[id] = hooks.count
        hooks.append(SimHook(id: id, appID: appID, type: type, url: url, parsedURL: parsed, createdOn: now, code: ""))
        requestVerification(id)
        return id
    }

    /// A new code, and a `hook.verify` POST carrying it. Only the latest code validates.
    mutating func requestVerification(_ hookID: Int) {
        guard let position = index[hookID] else { return }
        let code = codes.hex(16)
        hooks[position].code = code
        hooks[position].verifications += 1
        let hook = hooks[position]
        outbox.append(
            HookDelivery(
                hookID: hookID, url: hook.parsedURL.target,
                fields: [("type", "hook.verify"), ("hook_id", String(hookID)), ("code", code)] + hook.parsedURL.query,
                isVerify: true))
    }

    mutating func delete(_ hookID: Int) {
        guard let position = index[hookID] else { return }
        hooks[position].deleted = true
        hooks[position].active = false
    }

    mutating func setActive(_ hookID: Int, _ active: Bool) {
        guard let position = index[hookID], !hooks[position].deleted else { return }
        hooks[position].active = active
        if active { hooks[position].consecutiveFailures = 0 }
    }

    /// Queues one event for every active hook of that type on the app, through the faults.
    mutating func fire(appID: Int, type: String, _ fields: [(String, String)]) {
        for position in hooks.indices where hooks[position].appID == appID && hooks[position].type == type {
            guard hooks[position].active, !hooks[position].deleted else { continue }
            if suppressing {
                hooks[position].suppressed += 1
                continue
            }
            if faults.dropRate > 0 && random.chance(faults.dropRate) {
                hooks[position].dropped += 1
                continue
            }
            let copies = faults.duplicateRate > 0 && random.chance(faults.duplicateRate) ? 2 : 1
            hooks[position].duplicated += copies - 1
            let hook = hooks[position]
            for _ in 0..<copies {
                var delivery = HookDelivery(
                    hookID: hook.id, url: hook.parsedURL.target,
                    fields: [("type", type), ("hook_id", String(hook.id))] + fields + hook.parsedURL.query)
                let delays = faults.delayMilliseconds
                delivery.delayMilliseconds =
                    delays.upperBound > delays.lowerBound
                    ? random.int(max(0, delays.lowerBound)...max(0, delays.upperBound)) : max(0, delays.lowerBound)
                if faults.reorderWindow > 1 {
                    held.append(delivery)
                } else {
                    outbox.append(delivery)
                }
            }
        }
        if faults.reorderWindow > 1 && held.count >= faults.reorderWindow { releaseHeld() }
    }

    /// Moves the held deliveries to the outbox in a seeded random order.
    mutating func releaseHeld() {
        guard !held.isEmpty else { return }
        var batch = held
        held.removeAll()
        if batch.count > 1 {
            for position in stride(from: batch.count - 1, to: 0, by: -1) {
                batch.swapAt(position, random.int(0...position))
            }
        }
        outbox.append(contentsOf: batch)
    }

    /// Counts a delivery's outcome; with `failuresToInactive`, that many failures in a row turn
    /// the hook inactive (an undocumented reading, off unless the quirk asks for it).
    mutating func record(hookID: Int, ok: Bool, isVerify: Bool, failuresToInactive: Int?) {
        guard let position = index[hookID], !isVerify else { return }
        if ok {
            hooks[position].delivered += 1
            hooks[position].consecutiveFailures = 0
        } else {
            hooks[position].failed += 1
            hooks[position].consecutiveFailures += 1
            if let limit = failuresToInactive, limit > 0, hooks[position].consecutiveFailures >= limit {
                hooks[position].active = false
            }
        }
    }
}
