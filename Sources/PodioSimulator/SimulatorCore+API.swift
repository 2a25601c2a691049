import Foundation

/// The Podio API proper: authentication, rate limits, faults and the operations.
extension SimulatorCore {
    typealias Grant = TokenStore.Grant

    private enum Auth {
        case granted(Grant, token: String)
        case refused(APIError)
    }

    /// `Authorization: OAuth2 <token>` only. Missing header: 401 unauthorized/invalid_request;
    /// empty token: 400; another scheme (e.g. Bearer), an unknown or expired token: 401
    /// unauthorized/expired_token (Podio cannot tell a bogus token from an expired one).
    private func authenticate(_ request: SimRequest, _ state: SimulatorState, now: Double) -> Auth {
        guard let header = request.header("authorization") else {
            return .refused(APIError(status: 401, error: "unauthorized", description: "invalid_request"))
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        let scheme = parts.first.map(String.init) ?? ""
        let token = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        if scheme == "OAuth2" && token.isEmpty {
            return .refused(
                APIError(status: 400, error: "invalid_request", description: "Invalid authorization header"))
        }
        guard scheme == "OAuth2", let grant = state.tokens.validate(token, now: now) else {
            return .refused(APIError(status: 401, error: "unauthorized", description: "expired_token"))
        }
        return .granted(grant, token: token)
    }

    private func addRateHeaders(_ response: inout SimResponse, tier: String, remaining: Int) {
        let limit = limit(ofTier: tier)
        let advertised = limit == 0 ? Self.unlimitedAdvertised : limit
        response.addHeader("X-Rate-Limit-Limit", String(advertised))
        response.addHeader("X-Rate-Limit-Remaining", String(max(0, min(remaining, advertised))))
    }

    func handleAPI(_ state: inout SimulatorState, _ request: SimRequest, now: Double) -> SimResponse {
        guard let matched = APIRoute.match(method: request.method, path: request.path) else {
            var response = errorResponse(.noOperation(path: request.path), request, state)
            addRateHeaders(&response, tier: APIRoute.generalTier, remaining: limit(ofTier: APIRoute.generalTier))
            return response
        }
        let route = matched.route
        let ids = matched.ids
        let tier = state.quirks.tiers[route.name] ?? route.tier
        let tierLimit = limit(ofTier: tier)
        let window = config.rateWindow
        let grant: Grant
        let token: String
        switch authenticate(request, state, now: now) {
        case .refused(let failure):
            var response = errorResponse(failure, request, state)
            addRateHeaders(&response, tier: tier, remaining: tierLimit == 0 ? Self.unlimitedAdvertised : tierLimit)
            return response
        case .granted(let granted, let presented):
            grant = granted
            token = presented
        }
        if state.quirks.limitStopsEveryCall, let stopped = state.quotaStoppedUntil[grant.identity], stopped > now {
            var response = rateLimitResponse(wait: max(1, Int((stopped - now).rounded(.up))), request, state)
            addRateHeaders(&response, tier: tier, remaining: 0)
            return response
        }
        let count: Int
        var remaining: Int
        switch state.limiter.admit(identity: grant.identity, tier: tier, limit: tierLimit, window: window, now: now) {
        case .refused(let wait):
            if state.quirks.limitStopsEveryCall {
                state.quotaStoppedUntil[grant.identity] = now + Double(wait)
            }
            var response = rateLimitResponse(wait: wait, request, state)
            addRateHeaders(&response, tier: tier, remaining: 0)
            return response
        case .allowed(let left, let inWindow):
            remaining = left
            count = inWindow
        }
        let fault = state.faults.take(isFilter: route.operation == .filter, path: request.path)
        // Injected 420 and expired token behave like the real conditions: not served calls.
        if fault == .rateLimit || fault == .expireToken {
            state.limiter.revokeLast(identity: grant.identity, tier: tier)
            if remaining < Int.max { remaining += 1 }  // Int.max: an unlimited tier
            var response: SimResponse
            if fault == .rateLimit {
                let wait = state.limiter.secondsUntilSlot(
                    identity: grant.identity, tier: tier, window: window, now: now)
                response = rateLimitResponse(wait: wait, request, state)
                remaining = 0
            } else {
                state.tokens.expire(token, now: now)
                response = errorResponse(
                    APIError(status: 401, error: "unauthorized", description: "expired_token"), request, state)
            }
            addRateHeaders(&response, tier: tier, remaining: remaining)
            return response
        }
        state.stats.callsByTier[tier, default: 0] += 1
        state.stats.callsByEndpoint[route.name, default: 0] += 1
        state.stats.callsByPurpose[PodioSimulator.Stats.purpose(of: route, request), default: 0] += 1
        state.stats.maxCallsInWindow[tier] = max(state.stats.maxCallsInWindow[tier] ?? 0, count)

        var response: SimResponse
        do {
            response = try perform(route.operation, ids: ids, grant: grant, request: request, state: &state)
        } catch {
            response = errorResponse(error, request, state)
        }
        if let fault {
            response = apply(fault, to: response, state: &state)
        }
        if response.headers.contains(where: { $0.name == "Content-Type" && $0.value == "text/html" }) {
            return response  // a load balancer page carries no Podio headers
        }
        if route.operation == .fileRaw && response.status < 300 {
            // A file's bytes come without the rate-limit headers (a 2013 backup tool estimated
            // its quota around them; reference §3.3): the call counts, but says nothing of how.
            return response
        }
        addRateHeaders(&response, tier: tier, remaining: remaining)
        return response
    }

    private func apply(_ fault: PodioSimulator.Fault, to response: SimResponse, state: inout SimulatorState)
        -> SimResponse
    {
        var response = response
        switch fault {
        case .serverError:
            return SimResponse.htmlError(state.faults.serverErrorStatus())
        case .delay(let milliseconds):
            response.delivery = .delay(milliseconds: max(0, milliseconds))
        case .cutBody:
            response.delivery = .cutBody
        case .slowBody(let milliseconds):
            response.delivery = .slowBody(milliseconds: max(0, milliseconds))
        case .truncatedJSON:
            response.status = 200
            response.body = Array(response.body.prefix(max(1, response.body.count / 2)))
        case .invalidPage:
            response.status = 200
            response.body = Array("<html><body>Podio is having a moment. Please try again.</body></html>".utf8)
        case .missingItems:
            if let counts = response.filterCounts {
                response.body = JSON.obj(["total": .int(counts.total), "filtered": .int(counts.filtered)]).bytes
            }
        case .expireToken, .rateLimit:
            break
        }
        return response
    }

    /// Boolean query parameters on GET: "0", "1", "true" or "false"; anything else is 400.
    private func boolQuery(_ request: SimRequest, _ name: String, default value: Bool) throws(APIError) -> Bool {
        guard let items = request.queryItems else { throw APIError.invalidValue("Invalid query string") }
        guard let text = items.last(where: { $0.0 == name })?.1 else { return value }
        switch text {
        case "1", "true": return true
        case "0", "false": return false
        default: throw APIError.badValue(.string(text), "must be one of '0', '1', 'true', 'false'")
        }
    }

    private func userOnly(_ grant: Grant) throws(APIError) {
        if grant.appID != nil { throw APIError.forbidden("An app token can only access its own app") }
    }

    func appIndex(_ appID: Int, grant: Grant, _ state: SimulatorState) throws(APIError) -> Int {
        if let own = grant.appID, own != appID { throw APIError.forbidden("An app token can only access its own app") }
        guard let index = state.appIndex[appID] else { throw APIError.notFound("Object not found") }
        if state.apps[index].deleted { throw APIError.gone("This app has been deleted") }
        return index
    }

    private func perform(
        _ operation: APIRoute.Operation, ids: [Int], grant: Grant, request: SimRequest,
        state: inout SimulatorState
    ) throws(APIError) -> SimResponse {
        let id = ids.first ?? 0
        switch operation {
        case .orgs:
            try userOnly(grant)
            return .json(200, .array(state.orgs.map { state.orgJSON($0, withSpaces: true) }))
        case .org:
            try userOnly(grant)
            guard let org = state.org(id) else { throw APIError.notFound("Object not found") }
            return .json(200, state.orgJSON(org, withSpaces: false))
        case .orgSpaces:
            try userOnly(grant)
            guard state.org(id) != nil else { throw APIError.notFound("Object not found") }
            return .json(200, .array(state.spaces.filter { $0.orgID == id }.map(state.spaceJSON)))
        case .space:
            try userOnly(grant)
            guard let space = state.space(id) else { throw APIError.notFound("Object not found") }
            return .json(200, state.spaceJSON(space))
        case .apps:
            // Active apps the user sees (inactive apps only through include_inactive of a space);
            // with `appListLimit`, only the first so many: the call is undocumented.
            try userOnly(grant)
            let active = state.apps.filter(\.isActive)
            return .json(200, .array(active.prefix(config.appListLimit ?? active.count).map(state.appJSON)))
        case .appsV2:
            try userOnly(grant)
            var limit = 4  // Podio's documented default
            if let text = request.queryValue("limit") {
                guard let value = Int(text), (1...100).contains(value) else {
                    throw APIError.badValue(.string(text), "must be an integer between 1 and 100")
                }
                limit = value
            }
            return .json(200, .array(state.apps.filter(\.isActive).prefix(limit).map(state.appJSON)))
        case .appsInSpace:
            try userOnly(grant)
            let includeInactive = try boolQuery(request, "include_inactive", default: false)
            guard state.space(id) != nil else { throw APIError.notFound("Object not found") }
            let apps = state.apps.filter { $0.spaceID == id && !$0.deleted && (includeInactive || $0.isActive) }
            return .json(200, .array(apps.map(state.appJSON)))
        case .app:
            let index = try appIndex(id, grant: grant, state)
            return .json(200, state.appJSON(state.apps[index]))
        case .count:
            let index = try appIndex(id, grant: grant, state)
            return .json(200, .obj(["count": .int(state.apps[index].liveCount)]))
        case .filter:
            let index = try appIndex(id, grant: grant, state)
            guard !request.body.isEmpty else {
                throw APIError.notFound("No matching operation could be found. No body was given.")
            }
            let filter = try FilterRequest.parse(request.body)
            let micro = request.queryValue("fields")?.contains("items.view(micro)") ?? false
            // Filter results leave out `files` unless asked (reference §12).
            let withFiles = request.queryValue("fields")?.contains("items.fields(files)") ?? false
            let page = state.filterPage(appIdx: index, request: filter, micro: micro, withFiles: withFiles)
            var response = SimResponse.json(200, page.body)
            response.filterCounts = (page.total, page.filtered)
            return response
        case .item:
            _ = try boolQuery(request, "mark_as_viewed", default: true)
            guard let location = state.locate(id) else { throw APIError.notFound("Object not found") }
            if let own = grant.appID, own != state.apps[location.app].id {
                throw APIError.forbidden("An app token can only access its own app")
            }
            if state.apps[location.app].deleted { throw APIError.gone("This app has been deleted") }
            if state.apps[location.app].items[location.item].deleted {
                // Podio's answer for a deleted item is 404 or 410; the simulator says 410 gone.
                throw APIError.gone("This item has been deleted")
            }
            var out: [UInt8] = []
            state.renderItem(appIdx: location.app, itemIdx: location.item, view: .full, into: &out)
            return .json(200, out)
        case .itemComments:
            // A plain array, oldest first. `limit` and `offset` page it (the official clients
            // send neither; Podio's default and maximum page size are not documented, so the
            // simulator serves everything unless asked and refuses a limit outside 1…500).
            guard let location = state.locate(id) else { throw APIError.notFound("Object not found") }
            if let own = grant.appID, own != state.apps[location.app].id {
                throw APIError.forbidden("An app token can only access its own app")
            }
            if state.apps[location.app].items[location.item].deleted {
                throw APIError.gone("This item has been deleted")
            }
            var comments = state.liveCommentsJSON(appIdx: location.app, itemIdx: location.item)
            if let text = request.queryValue("offset") {
                guard let offset = Int(text), offset >= 0 else {
                    throw APIError.badValue(.string(text), "must be a non-negative integer")
                }
                if !state.quirks.commentsIgnoreOffset { comments = Array(comments.dropFirst(offset)) }
            }
            if let text = request.queryValue("limit") {
                guard let limit = Int(text), (1...500).contains(limit) else {
                    throw APIError.badValue(.string(text), "must be an integer between 1 and 500")
                }
                comments = Array(comments.prefix(limit))
            }
            if let cap = state.quirks.commentPageCap { comments = Array(comments.prefix(max(0, cap))) }
            return .json(200, .array(comments))
        case .itemRevisions, .itemRevision, .itemRevisionDiff:
            // All revisions oldest first, one revision, or the fields that differ between two
            // (`from` before `to`; an unknown revision is 404). A deleted item answers 410, as
            // `GET /item/{id}` does, so its `delete` revision is never listed.
            guard let location = state.locate(id) else { throw APIError.notFound("Object not found") }
            if let own = grant.appID, own != state.apps[location.app].id {
                throw APIError.forbidden("An app token can only access its own app")
            }
            if state.apps[location.app].deleted { throw APIError.gone("This app has been deleted") }
            if state.apps[location.app].items[location.item].deleted {
                throw APIError.gone("This item has been deleted")
            }
            let revisions = state.revisions(appIdx: location.app, itemIdx: location.item)
            func revision(_ number: Int) throws(APIError) -> SimRevision {
                guard number < revisions.count else { throw APIError.notFound("Object not found") }
                return revisions[number]
            }
            switch operation {
            case .itemRevisions:
                return .json(200, .array(revisions.map(state.itemRevisionJSON)))
            case .itemRevision:
                return .json(200, state.itemRevisionJSON(try revision(ids[1])))
            default:
                let from = try revision(ids[1])
                let to = try revision(ids[2])
                guard from.revision < to.revision else {
                    throw APIError.badValue(.int(ids[1]), "revision_from must be lower than revision_to")
                }
                let diff = state.revisionDiff(appIdx: location.app, itemIdx: location.item, from: from, to: to)
                return .json(200, .array(diff))
            }
        case .fileRaw:
            // The bytes of an attached file: `size` bytes derived from its id. A file hosted
            // elsewhere, or every file with `fileRawRedirect`, answers 302 to its `link`.
            guard let found = state.attachedFile(id) else { throw APIError.notFound("Object not found") }
            if let own = grant.appID, own != state.apps[found.app].id {
                throw APIError.forbidden("An app token can only access its own app")
            }
            if state.quirks.fileRawRedirect || found.file.hostedBy != "podio" {
                return SimResponse(
                    status: 302, headers: [("Location", SimulatorState.fileLink(found.file))], body: [])
            }
            return SimResponse(
                status: 200, headers: [("Content-Type", found.file.mimetype)],
                body: SimulatorState.fileBytes(found.file))
        case .hookCreate, .hookList, .hookDelete, .hookVerifyRequest, .hookValidate:
            return try performHook(operation, ids: ids, grant: grant, request: request, state: &state)
        }
    }
}
