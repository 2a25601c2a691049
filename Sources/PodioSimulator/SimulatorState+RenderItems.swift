/// Item JSON: the short view (filter results), the full view (`GET /item/{id}`) and the
/// micro view. As in real captures, the short view carries a top-level `revision` and each of
/// its fields has `config` trimmed to `settings`, `mapping` and `label` and no `status`; the
/// full view's fields carry `status` and the whole `config`. The short view's `fields` array,
/// the one pages are made of, is rendered once and cached as bytes.
extension SimulatorState {
    enum ItemView {
        case micro, short, full
    }

    func itemLink(_ app: SimApp, _ item: SimItem) -> String {
        "\(app.link)/items/\(item.appItemID)"
    }

    func revisionJSON(revision: Int, id: Int, createdOn: Int) -> JSON {
        .obj([
            "revision": .int(revision),
            "item_revision_id": .int(id),
            "type": .string(revision == 0 ? "creation" : "update"),
            "created_on": .string(PodioTime.format(createdOn)),
            "created_by": SeedData.userByline,
        ])
    }

    func appMiniJSON(_ app: SimApp) -> JSON {
        .obj([
            "app_id": .int(app.id),
            "status": .string(app.status),
            "space_id": .int(app.spaceID),
            "url_label": .string(app.urlLabel),
            "link": .string(app.link),
            "config": .obj([
                "name": .string(TextCoding.htmlEscape(app.name)), "item_name": .string(app.itemName),
                "type": .string("standard"), "icon": .string("55.png"), "icon_id": .int(55),
            ]),
        ])
    }

    /// Renders one item in `view` into `out`.
    /// `withFiles`: the short view with `files` (the filter's `fields=items.fields(files)`).
    mutating func renderItem(
        appIdx: Int, itemIdx: Int, view: ItemView, withFiles: Bool = false, into out: inout [UInt8]
    ) {
        // The head is rendered by a non-mutating method, so no copy of the app's item array is
        // alive when `appendFields` writes the cache back (which would copy the whole array).
        renderHead(appIdx: appIdx, itemIdx: itemIdx, view: view, withFiles: withFiles, into: &out)
        guard view != .micro else { return }
        out.removeLast()  // the closing brace; the fields array follows
        out.append(contentsOf: #","fields":"#.utf8)
        appendFields(appIdx: appIdx, itemIdx: itemIdx, view: view, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    private func renderHead(appIdx: Int, itemIdx: Int, view: ItemView, withFiles: Bool, into out: inout [UInt8]) {
        let app = apps[appIdx]
        let item = app.items[itemIdx]
        if view == .micro {
            JSONWriter.write(
                .obj([
                    "item_id": .int(item.itemID),
                    "app_item_id": .int(item.appItemID),
                    "title": .string(item.title),
                    "link": .string(itemLink(app, item)),
                    "revision": .int(item.revision),
                ]), into: &out)
            return
        }
        var head: JSON = .obj([
            "item_id": .int(item.itemID),
            "app_item_id": .int(item.appItemID),
            "app_item_id_formatted": .string(String(item.appItemID)),
            "external_id": .null,
            "title": .string(item.title),
            "link": .string(itemLink(app, item)),
        ])
        head.append("revision", .int(item.revision))
        head.append(
            "initial_revision", revisionJSON(revision: 0, id: item.initialRevisionID, createdOn: item.createdOn))
        head.append(
            "current_revision",
            revisionJSON(revision: item.revision, id: item.currentRevisionID, createdOn: item.lastEditOn))
        head.append("created_on", .string(PodioTime.format(item.createdOn)))
        head.append("created_by", SeedData.userByline)
        head.append("created_via", SeedData.createdVia)
        head.append("last_event_on", .string(PodioTime.format(item.lastEventOn)))
        head.append("comment_count", .int(item.commentCount))
        head.append("file_count", .int(item.files.filter { !$0.deleted }.count))
        if view == .short && withFiles { head.append("files", .array(liveFilesJSON(item))) }
        head.append("tags", .array([]))
        head.append("rights", SeedData.rights)
        if view == .full {
            head.append("app", appMiniJSON(app))
            head.append("files", .array(liveFilesJSON(item)))
            head.append("comments", .array(liveCommentsJSON(appIdx: appIdx, itemIdx: itemIdx)))
            var revisions = [
                revisionJSON(revision: item.revision, id: item.currentRevisionID, createdOn: item.lastEditOn)
            ]
            if item.revision > 0 {
                revisions.append(revisionJSON(revision: 0, id: item.initialRevisionID, createdOn: item.createdOn))
            }
            head.append("revisions", .array(revisions))
        }
        JSONWriter.write(head, into: &out)
    }

    /// The `fields` array of the short or full view (only fields with values), from cache when
    /// still valid.
    mutating func appendFields(appIdx: Int, itemIdx: Int, view: ItemView, into out: inout [UInt8]) {
        let epoch = apps[appIdx].renderEpoch
        let full = view == .full
        let cache = full ? \SimItem.cachedFullFields : \SimItem.cachedFields
        let cacheEpoch = full ? \SimItem.fullCacheEpoch : \SimItem.cacheEpoch
        if let cached = apps[appIdx].items[itemIdx][keyPath: cache],
            apps[appIdx].items[itemIdx][keyPath: cacheEpoch] == epoch
        {
            out.append(contentsOf: cached)
            return
        }
        let bytes = renderFields(appIdx: appIdx, itemIdx: itemIdx, view: full ? .full : .short)
        out.append(contentsOf: bytes)
        // Written in place (no copy of the item array).
        if let stale = apps[appIdx].items[itemIdx][keyPath: cache] {
            cachedBytes -= stale.count
            apps[appIdx].items[itemIdx][keyPath: cache] = nil
        }
        if cachedBytes + bytes.count <= Self.cacheBudget {
            apps[appIdx].items[itemIdx][keyPath: cache] = bytes
            apps[appIdx].items[itemIdx][keyPath: cacheEpoch] = epoch
            cachedBytes += bytes.count
        }
    }

    /// The `fields` array of `view` (short or full); fields given verbatim are served as given.
    private func renderFields(appIdx: Int, itemIdx: Int, view: ItemView) -> [UInt8] {
        JSON.array(fieldObjects(appIdx: appIdx, item: apps[appIdx].items[itemIdx], view: view)).bytes
    }

    /// The field objects of `item` (which may carry an earlier revision's values) in `view`.
    func fieldObjects(appIdx: Int, item: SimItem, view: ItemView) -> [JSON] {
        let app = apps[appIdx]
        if let raw = item.rawFields {
            return raw
        }
        var fields: [JSON] = []
        for field in app.fields.sorted(by: { $0.delta < $1.delta }) where field.isActive {
            guard field.id < item.fieldLimit, !item.cleared.contains(field.id) else { continue }
            let values: [JSON]?
            if field.type == "app" {
                values = referenceValues(field: field, item: item)
            } else {
                values = ValueGenerator.values(field: field, item: item)
            }
            guard let values, !values.isEmpty else { continue }
            if view == .full {
                fields.append(
                    .obj([
                        "field_id": .int(field.id),
                        "external_id": .string(field.externalID),
                        "type": .string(field.type),
                        "label": .string(field.label),
                        "status": .string("active"),
                        "config": field.configJSON,
                        "values": .array(values),
                    ]))
            } else {
                fields.append(
                    .obj([
                        "type": .string(field.type),
                        "field_id": .int(field.id),
                        "label": .string(field.label),
                        "values": .array(values),
                        "config": field.trimmedConfigJSON,
                        "external_id": .string(field.externalID),
                    ]))
            }
        }
        return fields
    }

    /// App reference values: mini items of live items in the referenced app.
    private func referenceValues(field: SimField, item: SimItem) -> [JSON]? {
        var random = ValueGenerator.rng(item, field)
        if !item.fillAll && !random.chance(0.85) { return nil }
        guard let targetID = field.settings["referenced_apps"]?.arrayValue?.first?["app_id"]?.intValue,
            let targetIdx = appIndex[targetID]
        else { return nil }
        let target = apps[targetIdx]
        guard !target.items.isEmpty else { return nil }
        let multiple = field.settings["multiple"]?.boolValue ?? false
        let count = multiple ? random.int(1...2) : 1
        var values: [JSON] = []
        var seen: Set<Int> = []
        for _ in 0..<count {
            let pool = target.referencePool > 0 ? min(target.referencePool, target.items.count) : target.items.count
            let referenced = target.items[random.int(0...(pool - 1))]
            // References to deleted items (or the item itself) are not served.
            guard !referenced.deleted, referenced.itemID != item.itemID, seen.insert(referenced.itemID).inserted else {
                continue
            }
            values.append(.obj(["value": miniItemJSON(target, referenced)]))
        }
        return values
    }

    private func miniItemJSON(_ app: SimApp, _ item: SimItem) -> JSON {
        let space = space(app.spaceID)
        return .obj([
            "item_id": .int(item.itemID),
            "app_item_id": .int(item.appItemID),
            "title": .string(item.title),
            "link": .string(itemLink(app, item)),
            "revision": .int(item.revision),
            "created_on": .string(PodioTime.format(item.createdOn)),
            "app": appMiniJSON(app),
            "space": .obj([
                "space_id": .int(app.spaceID),
                "org_id": .int(space?.orgID ?? 0),
                "name": .string(space?.name ?? ""),
                "url_label": .string(space?.urlLabel ?? ""),
            ]),
        ])
    }
}
