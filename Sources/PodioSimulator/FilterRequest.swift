/// The body of `POST /item/app/{app_id}/filter/` (§5.1), validated strictly: JSON types
/// must be exact (a string "500" is not a limit), `limit` is 1…500, unknown sort keys and
/// filter keys are refused with 400 rather than ignored.
struct FilterRequest: Sendable {
    /// An inclusive time range; either end may be open.
    struct Range: Sendable {
        var from: Int?
        var to: Int?

        func contains(_ time: Int) -> Bool {
            if let from, time < from { return false }
            if let to, time > to { return false }
            return true
        }
    }

    static let maxLimit = 500
    static let defaultLimit = 30
    static let sortKeys: Set<String> = ["item_id", "app_item_id", "created_on", "last_edit_on"]

    /// Podio does not document the default order; the simulator uses newest first
    /// (created_on descending), ties by item_id ascending, so clients must not rely on it.
    var sortBy = "created_on"
    var sortDesc = true
    var limit = FilterRequest.defaultLimit
    var offset = 0
    var createdOn: Range?
    var lastEditOn: Range?

    static func parse(_ body: [UInt8]) throws(APIError) -> FilterRequest {
        let json: JSON
        do {
            json = try JSONParser.parse(body)
        } catch {
            throw APIError(
                status: 400, error: "invalid_value", description: "Invalid JSON in request body: \(error.message)")
        }
        let members: [JSONMember]
        switch json {
        case .object(let given): members = given
        // PHP's json_encode(array()) is "[]": podio-php sends that for a filter without options.
        case .array(let elements) where elements.isEmpty: members = []
        default: throw APIError.badValue(json, "must be an object")
        }
        var request = FilterRequest()
        var sortDescGiven = false
        for member in members {
            let value = member.value
            switch member.key {
            case "limit":
                guard let limit = value.intValue else { throw APIError.badValue(value, "must be integer") }
                guard (1...maxLimit).contains(limit) else {
                    throw APIError.badValue(value, "must be between 1 and \(maxLimit)")
                }
                request.limit = limit
            case "offset":
                guard let offset = value.intValue else { throw APIError.badValue(value, "must be integer") }
                guard offset >= 0 else { throw APIError.badValue(value, "must be at least 0") }
                request.offset = offset
            case "sort_by":
                guard let key = value.stringValue else { throw APIError.badValue(value, "must be string") }
                guard sortKeys.contains(key) else {
                    throw APIError.badValue(
                        value, "sort_by must be one of \(sortKeys.sorted().joined(separator: ", "))")
                }
                request.sortBy = key
            case "sort_desc":
                guard let flag = value.boolValue else { throw APIError.badValue(value, "must be boolean") }
                request.sortDesc = flag
                sortDescGiven = true
            case "remember":
                guard value.boolValue != nil else { throw APIError.badValue(value, "must be boolean") }
            case "filters":
                try request.parseFilters(value)
            default:
                throw APIError.invalidValue("Invalid parameter '\(member.key)'")
            }
        }
        // An explicit sort_by without sort_desc sorts ascending.
        if !sortDescGiven && members.contains(where: { $0.key == "sort_by" }) {
            request.sortDesc = false
        }
        return request
    }

    private mutating func parseFilters(_ value: JSON) throws(APIError) {
        guard case .object(let filters) = value else {
            throw APIError.badValue(value, "filters must be an object keyed by filter key")
        }
        for filter in filters {
            switch filter.key {
            case "created_on": createdOn = try Self.parseRange(filter.value, key: filter.key)
            case "last_edit_on": lastEditOn = try Self.parseRange(filter.value, key: filter.key)
            default:
                throw APIError.invalidValue(
                    "Invalid filter key '\(filter.key)': the simulator supports created_on and last_edit_on")
            }
        }
    }

    /// `{"from": "YYYY-MM-DD[ HH:MM:SS]", "to": …}`, UTC, both ends inclusive; a date-only
    /// `to` includes that whole day. Relative dates ("-7d") are refused.
    private static func parseRange(_ value: JSON, key: String) throws(APIError) -> Range {
        guard case .object(let members) = value else {
            throw APIError.badValue(value, "\(key) must be an object with from and to")
        }
        var range = Range()
        for member in members {
            guard member.key == "from" || member.key == "to" else {
                throw APIError.invalidValue("Invalid key '\(member.key)' in filter \(key)")
            }
            if member.value == .null { continue }
            guard let text = member.value.stringValue,
                let time = PodioTime.parse(text, endOfDay: member.key == "to")
            else {
                throw APIError.badValue(member.value, "must be a date as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
            }
            if member.key == "from" { range.from = time } else { range.to = time }
        }
        return range
    }
}
