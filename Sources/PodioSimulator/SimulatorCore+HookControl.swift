/// `/_sim/hooks`: the webhooks' counters, their delivery faults, and their status.
extension SimulatorCore {
    func controlHooks(
        _ state: inout SimulatorState, _ request: SimRequest, segments: [String],
        body json: JSON
    ) throws(ControlError) -> SimResponse {
        switch (request.method, segments.count) {
        case ("GET", 1):
            return .json(
                200,
                .obj([
                    "hooks": .array(state.hooks.hooks.map(Self.hookJSON)),
                    "held": .int(state.hooks.held.count),
                ]))
        case ("POST", 1):
            state.hooks.setFaults(try Self.hookFaults(json))
            return .noContent
        case ("POST", 2) where segments[1] == "flush":
            state.hooks.releaseHeld()
            return .noContent
        case ("POST", 2):
            guard let hookID = Int(segments[1]), state.hooks.hook(hookID) != nil else {
                throw .invalid("no hook \(segments[1])")
            }
            switch json["status"]?.stringValue {
            case "active": state.hooks.setActive(hookID, true)
            case "inactive": state.hooks.setActive(hookID, false)
            default: throw .invalid("status must be active or inactive")
            }
            return .noContent
        default:
            return errorResponse(.noOperation(path: request.path), request, state)
        }
    }

    static func hookJSON(_ hook: SimHook) -> JSON {
        .obj([
            "hook_id": .int(hook.id), "app_id": .int(hook.appID), "type": .string(hook.type), "url": .string(hook.url),
            "status": .string(hook.active ? "active" : "inactive"), "deleted": .bool(hook.deleted),
            "verifications": .int(hook.verifications), "delivered": .int(hook.delivered), "failed": .int(hook.failed),
            "dropped": .int(hook.dropped), "duplicated": .int(hook.duplicated), "suppressed": .int(hook.suppressed),
            "consecutive_failures": .int(hook.consecutiveFailures),
        ])
    }

    /// The quirk `hook_body`: "form", "multipart" or "json" (absent: form).
    static func hookBodyFormat(_ value: JSON?) throws(ControlError) -> PodioSimulator.HookBodyFormat {
        guard let value else { return .form }
        guard let text = value.stringValue, let format = PodioSimulator.HookBodyFormat(rawValue: text) else {
            throw .invalid("hook_body must be form, multipart or json")
        }
        return format
    }

    /// `{"drop_rate", "duplicate_rate", "delay_min_ms", "delay_max_ms", "reorder_window",
    /// "reorder_hold_ms", "seed", "verify_before_answer"}`, each optional (default: off).
    static func hookFaults(_ json: JSON) throws(ControlError) -> PodioSimulator.HookFaults {
        func rate(_ key: String) throws(ControlError) -> Double {
            let value: Double
            switch json[key] {
            case nil: return 0
            case .double(let number)?: value = number
            case .int(let number)?: value = Double(number)
            default: throw .invalid("\(key) must be a number 0…1")
            }
            guard (0...1).contains(value) else { throw .invalid("\(key) must be a number 0…1") }
            return value
        }
        func count(_ key: String, _ fallback: Int) throws(ControlError) -> Int {
            guard let raw = json[key] else { return fallback }
            guard let value = raw.intValue, value >= 0 else { throw .invalid("\(key) must be an integer >= 0") }
            return value
        }
        let low = try count("delay_min_ms", 0)
        let high = try count("delay_max_ms", low)
        guard high >= low else { throw .invalid("delay_max_ms must not be below delay_min_ms") }
        var seed: UInt64 = 1
        if let raw = json["seed"] {
            guard let value = raw.intValue, value >= 0 else { throw .invalid("seed must be an integer >= 0") }
            seed = UInt64(value)
        }
        var verify = false
        if let raw = json["verify_before_answer"] {
            guard case .bool(let flag) = raw else { throw .invalid("verify_before_answer must be a boolean") }
            verify = flag
        }
        return PodioSimulator.HookFaults(
            dropRate: try rate("drop_rate"), duplicateRate: try rate("duplicate_rate"), delayMilliseconds: low...high,
            reorderWindow: try count("reorder_window", 0), reorderHoldMilliseconds: try count("reorder_hold_ms", 200),
            seed: seed,
            verifyBeforeCreateAnswer: verify)
    }
}
