import Foundation

/// The control API under `/_sim/` (no auth, no rate limits, no faults; JSON in and out).
extension SimulatorCore {
    typealias ControlError = PodioSimulator.ControlError

    func controlFailure(_ error: ControlError) -> APIError {
        switch error {
        case .unknownApp, .unknownItem, .unknownField: return APIError.notFound(error.description)
        case .itemDeleted: return APIError.gone(error.description)
        case .invalid(let message): return APIError.invalidValue(message)
        }
    }

    func handleControl(_ state: inout SimulatorState, _ request: SimRequest, now: Int) -> SimResponse {
        do {
            // `hook=false` (query or body, Podio's name) suppresses the webhooks of this change.
            var hook = request.queryValue("hook").map { $0 != "false" && $0 != "0" } ?? true
            if hook, case .bool(false)? = try? body(request)["hook"] { hook = false }
            return try state.withHooks(hook) { state throws(ControlError) in try control(&state, request, now: now) }
        } catch {
            return errorResponse(controlFailure(error), request, state)
        }
    }

    func body(_ request: SimRequest) throws(ControlError) -> JSON {
        if request.body.isEmpty { return .object([]) }
        do {
            let json = try JSONParser.parse(request.body)
            guard json.isObject else { throw ControlError.invalid("the body must be a JSON object") }
            return json
        } catch let failure as JSONParser.Failure {
            throw .invalid("invalid JSON: \(failure.message)")
        } catch let error as ControlError {
            throw error
        } catch {
            throw .invalid("invalid body")
        }
    }

    private func control(_ state: inout SimulatorState, _ request: SimRequest, now: Int) throws(ControlError)
        -> SimResponse
    {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: true).dropFirst().map(String.init)
        let ids = segments.map { Int($0) }
        switch (request.method, segments.count) {
        case ("GET", 1) where segments[0] == "stats":
            return .json(200, Self.statsBytes(state.stats))
        case ("POST", 2) where segments == ["stats", "reset"]:
            state.resetStats()
            return .noContent
        case ("GET", 1) where segments[0] == "truth":
            return .json(200, state.truthBytes())
        case ("GET", 1) where segments[0] == "apps":
            return .json(
                200,
                .array(
                    state.apps.map { app in
                        .obj([
                            "app_id": .int(app.id), "space_id": .int(app.spaceID), "name": .string(app.name),
                            "url_label": .string(app.urlLabel), "status": .string(app.status),
                            "item_count": .int(app.liveCount),
                            "app_token": .string(app.token),
                        ])
                    }))
        case ("POST", 1) where segments[0] == "apps":
            let json = try body(request)
            guard let name = json["name"]?.stringValue, let label = json["url_label"]?.stringValue else {
                throw .invalid("name and url_label are required")
            }
            let fieldSet: PodioSimulator.FieldSet
            switch json["fields"]?.stringValue ?? "everyType" {
            case "everyType": fieldSet = .everyType
            case "simple": fieldSet = .simple
            case "hostile": fieldSet = .hostile
            case "legacy": fieldSet = .legacy
            default: throw .invalid("fields must be everyType, simple, hostile or legacy")
            }
            let spec = PodioSimulator.AppSpec(
                name: name, urlLabel: label, itemCount: json["item_count"]?.intValue ?? 0,
                fields: fieldSet, status: json["status"]?.stringValue ?? "active")
            return .json(200, .obj(["app_id": .int(try state.addApp(spec))]))
        case ("DELETE", 2) where segments[0] == "apps":
            guard let appID = ids[1] else { throw .invalid("an app id is required") }
            try state.deleteApp(appID: appID)
            return .noContent
        case ("POST", 3) where segments[0] == "apps" && segments[2] == "fields":
            guard let appID = ids[1] else { throw .invalid("bad app id") }
            let json = try body(request)
            guard let type = json["type"]?.stringValue, let label = json["label"]?.stringValue else {
                throw .invalid("type and label are required")
            }
            var settings: [String: String] = [:]
            if case .object(let members)? = json["settings"] {
                for member in members {
                    switch member.value {
                    case .string(let text): settings[member.key] = text
                    case .int(let number): settings[member.key] = String(number)
                    case .bool(let flag): settings[member.key] = flag ? "true" : "false"
                    default: throw .invalid("settings values must be strings, integers or booleans")
                    }
                }
            }
            let fieldID = try state.addField(
                appID: appID, type: type, label: label,
                externalID: json["external_id"]?.stringValue, settings: settings)
            return .json(200, .obj(["field_id": .int(fieldID)]))
        case ("DELETE", 4) where segments[0] == "apps" && segments[2] == "fields":
            guard let appID = ids[1], let fieldID = ids[3] else { throw .invalid("bad id") }
            try state.deleteField(appID: appID, fieldID: fieldID)
            return .noContent
        case ("POST", 1) where segments[0] == "items":
            let json = try body(request)
            guard let appID = json["app_id"]?.intValue else { throw .invalid("app_id (integer) is required") }
            var created: [Int] = []
            if let count = json["count"]?.intValue {
                guard (1...100_000).contains(count) else { throw .invalid("count must be 1…100000") }
                for _ in 0..<count { created.append(try state.createItem(appID: appID, title: nil, now: now)) }
            } else {
                created.append(try state.createItem(appID: appID, title: json["title"]?.stringValue, now: now))
            }
            return .json(200, .obj(["item_ids": .array(created.map(JSON.int))]))
        case ("POST", 3) where segments[0] == "items" && segments[2] == "files":
            guard let itemID = ids[1] else { throw .invalid("bad item id") }
            let json = try body(request)
            guard let name = json["name"]?.stringValue else { throw .invalid("name (string) is required") }
            let fileID = try state.attachFile(
                itemID: itemID, name: name, mimetype: json["mimetype"]?.stringValue ?? "application/octet-stream",
                size: json["size"]?.intValue ?? 0, hostedBy: json["hosted_by"]?.stringValue ?? "podio", now: now)
            return .json(200, .obj(["file_id": .int(fileID)]))
        case ("DELETE", 2) where segments[0] == "files":
            guard let fileID = ids[1] else { throw .invalid("bad file id") }
            try state.removeFile(fileID: fileID, now: now)
            return .noContent
        case ("POST", 3) where segments[0] == "items":
            guard let itemID = ids[1] else { throw .invalid("bad item id") }
            let json = try body(request)
            switch segments[2] {
            case "edit": try state.editItem(itemID: itemID, title: json["title"]?.stringValue, now: now)
            case "move":
                guard let appID = json["app_id"]?.intValue else { throw .invalid("app_id (integer) is required") }
                try state.moveItem(itemID: itemID, toAppID: appID, now: now)
            case "comment":
                let commentID = try state.addComment(itemID: itemID, text: json["text"]?.stringValue, now: now)
                return .json(200, .obj(["comment_id": .int(commentID)]))
            case "clear":
                guard let fieldID = json["field_id"]?.intValue else { throw .invalid("field_id (integer) is required") }
                try state.clearField(itemID: itemID, fieldID: fieldID, now: now)
            default: throw .invalid("unknown item action \(segments[2])")
            }
            return .noContent
        case ("PUT", 2) where segments[0] == "comments":
            guard let commentID = ids[1] else { throw .invalid("bad comment id") }
            guard let text = try body(request)["text"]?.stringValue else { throw .invalid("text (string) is required") }
            try state.editComment(commentID: commentID, text: text, now: now)
            return .noContent
        case ("DELETE", 2) where segments[0] == "comments":
            guard let commentID = ids[1] else { throw .invalid("bad comment id") }
            try state.deleteComment(commentID: commentID, now: now)
            return .noContent
        case ("DELETE", 2) where segments[0] == "items":
            guard let itemID = ids[1] else { throw .invalid("bad item id") }
            try state.deleteItem(itemID: itemID)
            return .noContent
        case ("POST", 1) where segments[0] == "faults":
            let json = try body(request)
            let fault = try Self.fault(
                named: json["kind"]?.stringValue ?? "", delay: json["delay_ms"]?.intValue ?? 1000)
            let rate: Double?
            switch json["rate"] {
            case .double(let value)?: rate = value
            case .int(let value)?: rate = Double(value)
            default: rate = nil
            }
            state.faults.add(fault, count: json["count"]?.intValue ?? 1, rate: rate, path: json["path"]?.stringValue)
            return .noContent
        case ("POST", 1) where segments[0] == "quirks":
            let json = try body(request)
            var tiers: [String: String] = [:]
            if let given = json["tiers"] {
                guard case .object(let members) = given else {
                    throw .invalid("tiers must be an object of operation names and tiers")
                }
                for member in members {
                    let name = member.key
                    guard let tier = member.value.stringValue,
                        [APIRoute.generalTier, APIRoute.rateLimitedTier].contains(tier)
                    else { throw .invalid("the tier of \(name) must be \"general\" or \"rate_limited\"") }
                    tiers[name] = tier
                }
            }
            state.quirks = PodioSimulator.Quirks(
                pageCap: json["page_cap"]?.intValue, emptyPageAtOffset: json["empty_page_offset"]?.intValue,
                shuffleTies: json["shuffle_ties"]?.boolValue ?? false, hiddenItems: json["hidden_items"]?.intValue ?? 0,
                hookFailuresToInactive: json["hook_failures_to_inactive"]?.intValue, tiers: tiers,
                limitStopsEveryCall: json["limit_stops_every_call"]?.boolValue ?? false,
                commentsIgnoreOffset: json["comments_ignore_offset"]?.boolValue ?? false,
                commentPageCap: json["comment_page_cap"]?.intValue,
                fileRawRedirect: json["file_raw_redirect"]?.boolValue ?? false,
                hookBodyFormat: try Self.hookBodyFormat(json["hook_body"]),
                hookEventsWithoutHookID: json["hook_omit_hook_id"]?.boolValue ?? false,
                hookURLNormalized: json["hook_url_normalized"]?.boolValue ?? false)
            return .noContent
        case (_, _) where segments.first == "hooks":
            return try controlHooks(&state, request, segments: segments, body: try body(request))
        case ("DELETE", 1) where segments[0] == "faults":
            state.faults.clear()
            return .noContent
        case ("POST", 1) where segments[0] == "oauth":
            // The token endpoint's inconvenient modes; keys left out keep their setting.
            let json = try body(request)
            if let flag = json["two_step_verification"] {
                guard case .bool(let on) = flag else { throw .invalid("two_step_verification must be a boolean") }
                state.twoStepVerification = on
            }
            if let seconds = json["throttle_seconds"] {
                guard let value = seconds.intValue, value >= 0 else {
                    throw .invalid("throttle_seconds must be an integer >= 0")
                }
                Self.throttleTokenEndpoint(&state, seconds: value, now: monotonicNow())
            }
            if let delay = json["delay_ms"] {
                guard let value = delay.intValue, value >= 0 else { throw .invalid("delay_ms must be an integer >= 0") }
                state.tokenDelayMilliseconds = value
            }
            return .noContent
        case ("POST", 1) where segments[0] == "clock":
            // As if time had passed: token lifetimes, rate windows, the token endpoint's throttle.
            let json = try body(request)
            let value: Double
            switch json["advance_seconds"] {
            case .int(let seconds)?: value = Double(seconds)
            case .double(let seconds)?: value = seconds
            default: throw .invalid("advance_seconds must be a number >= 0")
            }
            guard value >= 0 else { throw .invalid("advance_seconds must be a number >= 0") }
            advanceClock(seconds: value)
            return .noContent
        default:
            return errorResponse(.noOperation(path: request.path), request, state)
        }
    }

    /// The token endpoint answers 420 for the next `seconds` (0 lifts the throttle).
    static func throttleTokenEndpoint(_ state: inout SimulatorState, seconds: Int, now: Double) {
        state.tokenThrottledUntil = seconds > 0 ? now + Double(seconds) : nil
    }

    static func fault(named kind: String, delay: Int) throws(ControlError) -> PodioSimulator.Fault {
        switch kind {
        case "server_error": return .serverError
        case "delay": return .delay(milliseconds: delay)
        case "cut_body": return .cutBody
        case "slow_body": return .slowBody(milliseconds: delay)
        case "truncated_json": return .truncatedJSON
        case "expire_token": return .expireToken
        case "rate_limit": return .rateLimit
        case "invalid_page": return .invalidPage
        case "missing_items": return .missingItems
        default: throw .invalid("unknown fault kind '\(kind)'")
        }
    }

    /// Stats as JSON with the Swift property names (sorted keys), as `JSONDecoder` reads them.
    static func statsBytes(_ stats: PodioSimulator.Stats) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(stats)).map { Array($0) } ?? Array("{}".utf8)
    }
}
