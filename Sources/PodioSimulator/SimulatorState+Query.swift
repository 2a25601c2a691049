/// Item orders and filter pages. Orders are cached per app and sort key until an item of
/// the app changes, so a page of a 200,000-item app does not sort on every call.
extension SimulatorState {
    /// Live items of an app in the requested order, ties by item_id ascending.
    mutating func order(appIdx: Int, sortBy: String, desc: Bool) -> [Int32] {
        let key = "\(sortBy)/\(desc)"
        if let cached = apps[appIdx].sortCache[key] { return cached }
        let items = apps[appIdx].items
        // `items` is in item_id order (and so in app_item_id order).
        var indexes: [Int32] = []
        indexes.reserveCapacity(apps[appIdx].liveCount)
        for index in items.indices where !items[index].deleted {
            indexes.append(Int32(index))
        }
        switch sortBy {
        case "created_on", "last_edit_on":
            let byCreation = sortBy == "created_on"
            let keys = items.map { byCreation ? $0.createdOn : $0.lastEditOn }
            indexes.sort { left, right in
                let a = keys[Int(left)], b = keys[Int(right)]
                if a != b { return desc ? a > b : a < b }
                return left < right
            }
        default:
            if desc { indexes.reverse() }
        }
        apps[appIdx].sortCache[key] = indexes
        return indexes
    }

    /// Renders a filter answer: `{"total", "filtered", "items"}`.
    mutating func filterPage(appIdx: Int, request: FilterRequest, micro: Bool) -> (body: [UInt8], total: Int, filtered: Int) {
        let ordered = order(appIdx: appIdx, sortBy: request.sortBy, desc: request.sortDesc)
        var page: [Int32] = []
        var filtered = 0
        if request.createdOn == nil && request.lastEditOn == nil {
            filtered = ordered.count
            if request.offset < ordered.count {
                page = Array(ordered[request.offset..<min(ordered.count, request.offset + request.limit)])
            }
        } else {
            let items = apps[appIdx].items
            for index in ordered {
                let item = items[Int(index)]
                if let range = request.createdOn, !range.contains(item.createdOn) { continue }
                if let range = request.lastEditOn, !range.contains(item.lastEditOn) { continue }
                if filtered >= request.offset && page.count < request.limit { page.append(index) }
                filtered += 1
            }
        }
        let total = apps[appIdx].liveCount
        var out: [UInt8] = []
        out.reserveCapacity(page.count * 4096 + 64)
        out.append(contentsOf: #"{"total":\#(total),"filtered":\#(filtered),"items":["#.utf8)
        for (position, index) in page.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            renderItem(appIdx: appIdx, itemIdx: Int(index), view: micro ? .micro : .short, into: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return (out, total, filtered)
    }
}
