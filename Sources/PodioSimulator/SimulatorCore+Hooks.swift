import NIOCore

/// Webhooks: the `/hook/` API, the hand-over of deliveries to the dispatcher, and their outcome.
extension SimulatorCore {
    struct SentDelivery {
        var isVerify: Bool
        var result: EventLoopFuture<Void>
    }

    /// Sends what the last changes queued (outside the state lock) and schedules the release of
    /// deliveries held for reordering.
    @discardableResult
    func dispatchHooks() -> [SentDelivery] {
        let (pending, flushIn) = state.withLock { state -> ([HookDelivery], Int?) in
            let quirks = state.quirks
            let pending = state.hooks.outbox.map { delivery in
                var delivery = delivery
                delivery.format = quirks.hookBodyFormat
                if quirks.hookEventsWithoutHookID && !delivery.isVerify {
                    delivery.fields.removeAll { $0.0 == "hook_id" }
                }
                return delivery
            }
            state.hooks.outbox.removeAll()
            var flushIn: Int? = nil
            if !state.hooks.held.isEmpty && !state.hooks.flushScheduled {
                state.hooks.flushScheduled = true
                flushIn = max(1, state.hooks.faults.reorderHoldMilliseconds)
            }
            return (pending, flushIn)
        }
        if let flushIn {
            group.next().scheduleTask(in: .milliseconds(Int64(flushIn))) { [self] in
                state.withLock { state in
                    state.hooks.flushScheduled = false
                    state.hooks.releaseHeld()
                }
                dispatchHooks()
            }
        }
        let allowLoopback = config.allowLoopbackHooks
        return pending.map { delivery in
            let result = dispatcher.send(
                delivery, loopbackAllowed: allowLoopback && HookURL.isLoopback(hostOf: delivery.url)
            )
            .map { [self] ok in
                state.withLock { state in
                    state.hooks.record(
                        hookID: delivery.hookID, ok: ok, isVerify: delivery.isVerify,
                        failuresToInactive: state.quirks.hookFailuresToInactive)
                }
            }
            return SentDelivery(isVerify: delivery.isVerify, result: result)
        }
    }

    private func hookBody(_ request: SimRequest) throws(APIError) -> JSON {
        guard !request.body.isEmpty else { throw APIError.invalidValue("A JSON body is required") }
        let json: JSON
        do {
            json = try JSONParser.parse(request.body)
        } catch {
            throw APIError.invalidValue("Invalid JSON: \(error.message)")
        }
        guard json.isObject else { throw APIError.invalidValue("The body must be a JSON object") }
        return json
    }

    /// A live hook the grant may touch (an app token only its own app's hooks).
    private func ownedHook(_ hookID: Int, grant: Grant, _ state: SimulatorState) throws(APIError) -> SimHook {
        guard let hook = state.hooks.hook(hookID) else { throw APIError.notFound("Object not found") }
        if let own = grant.appID, own != hook.appID {
            throw APIError.forbidden("An app token can only access its own app")
        }
        return hook
    }

    func performHook(
        _ operation: APIRoute.Operation, ids: [Int], grant: Grant, request: SimRequest,
        state: inout SimulatorState
    ) throws(APIError) -> SimResponse {
        let id = ids.first ?? 0
        switch operation {
        case .hookCreate:
            let appIdx = try appIndex(id, grant: grant, state)
            let json = try hookBody(request)
            guard var url = json["url"]?.stringValue else { throw APIError.invalidValue("url (string) is required") }
            guard let type = json["type"]?.stringValue else { throw APIError.invalidValue("type (string) is required") }
            guard SimHook.appTypes.contains(type) else {
                throw APIError.badValue(.string(type), "must be one of \(SimHook.appTypes.joined(separator: ", "))")
            }
            if state.quirks.hookURLNormalized { url = HookURL.normalized(url) }
            let parsed = try HookURL.parse(url, allowLoopback: config.allowLoopbackHooks)
            let appID = state.apps[appIdx].id
            guard state.hooks.liveCount(appID: appID, type: type) < SimHook.maxPerType else {
                throw APIError.invalidValue("Only \(SimHook.maxPerType) hooks of type \(type) are allowed per app")
            }
            let hookID = state.hooks.create(appID: appID, type: type, url: url, parsed: parsed, now: PodioTime.now())
            var response = SimResponse.json(200, .obj(["hook_id": .int(hookID)]))
            response.holdForVerify = state.hooks.faults.verifyBeforeCreateAnswer
            return response
        case .hookList:
            let appIdx = try appIndex(id, grant: grant, state)
            let appID = state.apps[appIdx].id
            let list = state.hooks.hooks.filter { !$0.deleted && $0.appID == appID }.map { hook -> JSON in
                .obj([
                    "hook_id": .int(hook.id), "status": .string(hook.active ? "active" : "inactive"),
                    "type": .string(hook.type),
                    "url": .string(hook.url), "created_on": .string(PodioTime.format(hook.createdOn)),
                    "created_by": SeedData.userByline, "created_via": SeedData.createdVia,
                ])
            }
            return .json(200, .array(list))
        case .hookDelete:
            _ = try ownedHook(id, grant: grant, state)
            state.hooks.delete(id)
            return .noContent
        case .hookVerifyRequest:
            _ = try ownedHook(id, grant: grant, state)
            state.hooks.requestVerification(id)
            return .noContent
        case .hookValidate:
            let hook = try ownedHook(id, grant: grant, state)
            let json = try hookBody(request)
            guard let code = json["code"]?.stringValue else { throw APIError.invalidValue("code (string) is required") }
            // [UNCERTAIN] Podio's answer to a wrong code is undocumented; 400 invalid_value here.
            guard code == hook.code else {
                throw APIError.badValue(.string(code), "is not the verification code of this hook")
            }
            state.hooks.setActive(id, true)
            return .noContent
        default:
            throw APIError.noOperation(path: request.path)
        }
    }
}
