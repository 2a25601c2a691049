import Foundation

/// A page size for item listings. Podio answers at most 500 items a page (and refuses more),
/// so a `PageSize` is at most 500 by construction: every initializer clamps.
public struct PageSize: Sendable, Equatable {
    public let value: Int

    /// The largest page Podio serves: 500.
    public static let maximum = PageSize(clamping: 500)

    /// A size between 1 and 500.
    public init(clamping value: Int) {
        self.value = Swift.min(500, Swift.max(1, value))
    }
}

/// The body of `POST /item/app/{app_id}/filter/`.
public struct ItemFilter: Sendable {
    public enum SortKey: String, Sendable {
        case itemID = "item_id"
        case createdOn = "created_on"
        case lastEditOn = "last_edit_on"
        case appItemID = "app_item_id"
    }

    /// A `{from, to}` range in UTC (`YYYY-MM-DD HH:MM:SS`); either end optional.
    public struct DateRange: Sendable {
        public var from: Date?
        public var to: Date?

        public init(from: Date? = nil, to: Date? = nil) {
            self.from = from
            self.to = to
        }
    }

    public var createdOn: DateRange?
    public var lastEditOn: DateRange?
    public var sortBy: SortKey = .itemID
    public var sortDescending = false
    public var limit = PageSize.maximum
    public var offset = 0
    /// Never remember the filter as the user's last view (the mirror must not change what people see).
    public let remember = false

    public init(
        sortBy: SortKey = .itemID, sortDescending: Bool = false, limit: PageSize = .maximum, offset: Int = 0,
        createdOn: DateRange? = nil, lastEditOn: DateRange? = nil
    ) {
        self.sortBy = sortBy
        self.sortDescending = sortDescending
        self.limit = limit
        self.offset = offset
        self.createdOn = createdOn
        self.lastEditOn = lastEditOn
    }

    /// The JSON body with strict types (integers and booleans, not strings).
    public func jsonBody() -> Data {
        var filters: [String: Any] = [:]
        func range(_ r: DateRange) -> [String: Any] {
            var out: [String: Any] = [:]
            if let from = r.from { out["from"] = PodioTime.format(from) }
            if let to = r.to { out["to"] = PodioTime.format(to) }
            return out
        }
        if let createdOn { filters["created_on"] = range(createdOn) }
        if let lastEditOn { filters["last_edit_on"] = range(lastEditOn) }
        var body: [String: Any] = [
            "sort_by": sortBy.rawValue, "sort_desc": sortDescending, "limit": limit.value, "offset": offset,
            "remember": remember,
        ]
        if !filters.isEmpty { body["filters"] = filters }
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
    }
}
