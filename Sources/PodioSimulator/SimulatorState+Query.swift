/// Item orders and filter pages. Orders are cached per app and sort key until an item of
/// the app changes, so a page of a 200,000-item app does not sort on every call.
extension SimulatorState {
    /// Live items of an app in the requested order, ties by item_id ascending.
    mutating func order(appIdx: Int, sortBy: String, desc: Bool) -> [Int32] {
        let key = "\(sortBy)/\(desc)"
        if let cached = apps[appIdx].sortCache[key] { return cached }
        // Items are stored in item_id order (and so in app_item_id order).
        var indexes: [Int32] = []
        indexes.reserveCapacity(apps[appIdx].liveCount)
        for index in apps[appIdx].items.indices where !apps[appIdx].items[index].deleted {
            indexes.append(Int32(index))
        }
        switch sortBy {
        case "created_on", "last_edit_on":
            let byCreation = sortBy == "created_on"
            // One packed key per item: time in the high bits, the (unique) index in the low 24+ bits,
            // so a plain integer sort gives "time, then item_id ascending" in both directions.
            var packed: [Int] = []
            packed.reserveCapacity(indexes.count)
            for index in indexes {
                let item = apps[appIdx].items[Int(index)]
                let time = byCreation ? item.createdOn : item.lastEditOn
                packed.append((desc ? -time : time) << 26 | Int(index))
            }
            packed.sort()
            indexes = packed.map { Int32($0 & (1 << 26 - 1)) }
        case "item_id" where apps[appIdx].movedIn:
            indexes.sort { apps[appIdx].items[Int($0)].itemID < apps[appIdx].items[Int($1)].itemID }
            if desc { indexes.reverse() }
        default:
            if desc { indexes.reverse() }
        }
        apps[appIdx].sortCache[key] = indexes
        return indexes
    }

    /// Renders a filter answer: `{"total", "filtered", "items"}`.
    mutating func filterPage(appIdx: Int, request: FilterRequest, micro: Bool, withFiles: Bool = false) -> (
        body: [UInt8], total: Int, filtered: Int
    ) {
        var ordered = order(appIdx: appIdx, sortBy: request.sortBy, desc: request.sortDesc)
        if quirks.shuffleTies { ordered = shufflingTies(ordered, appIdx: appIdx, sortBy: request.sortBy) }
        var page: [Int32] = []
        var filtered = 0
        if request.createdOn == nil && request.lastEditOn == nil {
            filtered = ordered.count
            if request.offset < ordered.count {
                page = Array(ordered[request.offset..<min(ordered.count, request.offset + request.limit)])
            }
        } else {
            for index in ordered {
                let created = apps[appIdx].items[Int(index)].createdOn
                let edited = apps[appIdx].items[Int(index)].lastEditOn
                if let range = request.createdOn, !range.contains(created) { continue }
                if let range = request.lastEditOn, !range.contains(edited) { continue }
                if filtered >= request.offset && page.count < request.limit { page.append(index) }
                filtered += 1
            }
        }
        if let cap = quirks.pageCap, page.count > cap { page = Array(page.prefix(cap)) }
        if quirks.emptyPageAtOffset == request.offset { page = [] }
        let total = apps[appIdx].liveCount + quirks.hiddenItems
        var out: [UInt8] = []
        out.reserveCapacity(page.count * 4096 + 64)
        out.append(contentsOf: #"{"total":\#(total),"filtered":\#(filtered),"items":["#.utf8)
        for (position, index) in page.enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            renderItem(
                appIdx: appIdx, itemIdx: Int(index), view: micro ? .micro : .short, withFiles: withFiles, into: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return (out, total, filtered)
    }

    /// `ordered` with every run of equal time keys in a random order (item ids are unique, so
    /// an item-id order has no ties).
    func shufflingTies(_ ordered: [Int32], appIdx: Int, sortBy: String) -> [Int32] {
        guard sortBy == "created_on" || sortBy == "last_edit_on" else { return ordered }
        func key(_ index: Int32) -> Int {
            let item = apps[appIdx].items[Int(index)]
            return sortBy == "created_on" ? item.createdOn : item.lastEditOn
        }
        var result = ordered
        var start = 0
        while start < result.count {
            var end = start + 1
            let k = key(result[start])
            while end < result.count, key(result[end]) == k { end += 1 }
            if end - start > 1 { result[start..<end].shuffle() }
            start = end
        }
        return result
    }
}
