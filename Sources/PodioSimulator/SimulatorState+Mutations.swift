/// Control mutations: items and fields change as they would in Podio, with the real time.
extension SimulatorState {
    /// A new item with a value in every active field; revision 0, created now.
    mutating func createItem(appID: Int, title: String?, now: Int) throws(ControlError) -> Int {
        let appIdx = try app(appID)
        var random = SplitMix64(seed: config.seed, 0xC0DE, UInt64(nextItemID))
        let seed = random.next()
        let appItemID = apps[appIdx].nextAppItemID
        var item = newItem(appIdx: appIdx, seed: seed, now: now)
        item.title = title ?? ValueGenerator.title(seed: seed, appItemID: appItemID, version: 0)
        item.fillAll = true
        return insert(item, appIdx: appIdx)
    }

    /// A new item whose `fields` are served exactly as given (a JSON array of field objects).
    mutating func createItem(appID: Int, rawFields: [UInt8], now: Int) throws(ControlError) -> Int {
        let appIdx = try app(appID)
        let parsed: JSON
        do {
            parsed = try JSONParser.parse(rawFields)
        } catch {
            throw .invalid("rawFields is not JSON: \(error.message)")
        }
        guard let fields = parsed.arrayValue else { throw .invalid("rawFields must be a JSON array") }
        var item = newItem(appIdx: appIdx, seed: 0, now: now)
        item.rawFields = fields
        item.title = Self.titleOf(rawFields: fields)
        return insert(item, appIdx: appIdx)
    }

    /// The first text value of raw fields, as Podio derives an item title from its title field.
    static func titleOf(rawFields: [JSON]) -> String {
        for field in rawFields where field["type"]?.stringValue == "text" {
            if let value = field["values"]?.arrayValue?.first?["value"]?.stringValue { return value }
        }
        return ""
    }

    private mutating func newItem(appIdx: Int, seed: UInt64, now: Int) -> SimItem {
        let revisionID = allocateRevisionID()
        let appItemID = apps[appIdx].nextAppItemID
        apps[appIdx].nextAppItemID += 1
        var item = SimItem(
            itemID: nextItemID, appItemID: appItemID, title: "", createdOn: now, lastEditOn: now, lastEventOn: now,
            revision: 0, initialRevisionID: revisionID, currentRevisionID: revisionID, valueSeed: seed,
            fieldLimit: nextFieldID)
        item.appRevision = apps[appIdx].currentRevision
        return item
    }

    private mutating func insert(_ item: SimItem, appIdx: Int) -> Int {
        let itemID = item.itemID
        nextItemID += 1
        apps[appIdx].itemIndex[itemID] = apps[appIdx].items.count
        apps[appIdx].items.append(item)
        apps[appIdx].liveCount += 1
        apps[appIdx].invalidateOrders()
        itemApp[itemID] = apps[appIdx].id
        fireItemEvent("item.create", appIdx: appIdx, itemID: itemID, revisionID: item.currentRevisionID)
        return itemID
    }

    /// Marks an item as changed now: new revision, caches and orders dropped. `before` is the
    /// item as it was: its revision is kept with its values (`GET /item/{id}/revision/…`).
    private mutating func touch(_ location: (app: Int, item: Int), now: Int, before: SimItem) {
        let revisionID = allocateRevisionID()
        var item = apps[location.app].items[location.item]
        item.past.append(
            SimRevision(
                revision: before.revision, revisionID: before.currentRevisionID, createdOn: before.lastEditOn,
                appRevision: before.appRevision, state: before.state))
        item.appRevision = apps[location.app].currentRevision
        item.revision += 1
        item.currentRevisionID = revisionID
        item.lastEditOn = max(now, item.lastEditOn)
        item.lastEventOn = max(now, item.lastEventOn)
        dropCache(&item)
        apps[location.app].items[location.item] = item
        apps[location.app].invalidateOrders()
        invalidateReferencesTo(apps[location.app].id)
        fireItemEvent("item.update", appIdx: location.app, itemID: item.itemID, revisionID: revisionID)
    }

    mutating func dropCache(_ item: inout SimItem) {
        if let cached = item.cachedFields {
            cachedBytes -= cached.count
            item.cachedFields = nil
        }
        if let cached = item.cachedFullFields {
            cachedBytes -= cached.count
            item.cachedFullFields = nil
        }
    }

    /// Changes the title and the generated values (a new value version), revision += 1.
    mutating func editItem(itemID: Int, title: String?, now: Int) throws(ControlError) {
        let location = try liveItem(itemID)
        var item = apps[location.app].items[location.item]
        let before = item
        item.valueVersion += 1
        item.fieldLimit = nextFieldID
        item.title =
            title ?? ValueGenerator.title(seed: item.valueSeed, appItemID: item.appItemID, version: item.valueVersion)
        if item.rawFields == nil {
            // Generated values are absent in some fields; an edit fills every active field so at
            // least one value besides the title surely changes.
            item.fillAll = true
        }
        item.cleared.removeAll()
        apps[location.app].items[location.item] = item
        touch(location, now: now, before: before)
    }

    /// An edit that empties one field (it disappears from the item's `fields`).
    mutating func clearField(itemID: Int, fieldID: Int, now: Int) throws(ControlError) {
        let location = try liveItem(itemID)
        guard let field = apps[location.app].fields.first(where: { $0.id == fieldID }) else {
            throw .unknownField(fieldID)
        }
        var item = apps[location.app].items[location.item]
        let before = item
        item.cleared.insert(fieldID)
        if field.role == .title { item.title = "" }
        if var raw = item.rawFields {
            raw.removeAll(where: { $0["field_id"]?.intValue == fieldID })
            item.rawFields = raw
        }
        apps[location.app].items[location.item] = item
        touch(location, now: now, before: before)
    }

    mutating func deleteItem(itemID: Int) throws(ControlError) {
        let location = try liveItem(itemID)
        var item = apps[location.app].items[location.item]
        item.deleted = true
        dropCache(&item)
        apps[location.app].items[location.item] = item
        apps[location.app].liveCount -= 1
        apps[location.app].invalidateOrders()
        deletedItemIDs.append(itemID)
        invalidateReferencesTo(apps[location.app].id)
        // Podio records a delete revision; its id is what the hook carries.
        fireItemEvent("item.delete", appIdx: location.app, itemID: itemID, revisionID: allocateRevisionID())
    }

    /// A comment: comment_count += 1 and last_event_on = now, without a new revision.
    mutating func comment(itemID: Int, now: Int) throws(ControlError) {
        _ = try addComment(itemID: itemID, text: nil, now: now)
    }

    private mutating func schemaChanged(_ appIdx: Int) {
        apps[appIdx].currentRevision += 1
        apps[appIdx].invalidateRendering()
        hooks.fire(appID: apps[appIdx].id, type: "app.update", [("app_id", String(apps[appIdx].id))])
    }

    mutating func addField(appID: Int, type: String, label: String, externalID: String?, settings: [String: String])
        throws(ControlError) -> Int
    {
        let appIdx = try app(appID)
        guard !type.isEmpty, !label.isEmpty else { throw .invalid("type and label are required") }
        let externalID = externalID ?? Self.slug(label)
        if apps[appIdx].fields.contains(where: { $0.isActive && $0.externalID == externalID }) {
            throw .invalid("external_id \(externalID) is already used in app \(appID)")
        }
        var referenced: JSON? = nil
        if type == "app" {
            let targetID = apps[appIdx].referencedAppID ?? apps.first(where: { $0.id != appID })?.id ?? appID
            if let target = appIndex[targetID].map({ apps[$0] }) {
                referenced = Self.referencedAppJSON(
                    id: target.id, name: target.name, urlLabel: target.urlLabel,
                    spaceID: target.spaceID, status: target.status)
            }
            apps[appIdx].referencedAppID = targetID
        }
        var merged = FieldCatalog.defaultSettings(type: type, referencedApp: referenced)
        for key in settings.keys.sorted() {
            guard let text = settings[key] else { continue }
            let value: JSON =
                text == "true" ? .bool(true) : text == "false" ? .bool(false) : Int(text).map(JSON.int) ?? .string(text)
            if case .object(var members) = merged {
                members.removeAll(where: { $0.key == key })
                members.append(JSONMember(key: key, value: value))
                merged = .object(members)
            }
        }
        let fieldID = nextFieldID
        nextFieldID += 1
        let delta = (apps[appIdx].fields.map(\.delta).max() ?? -1) + 1
        apps[appIdx].fields.append(
            SimField(
                id: fieldID, externalID: externalID, type: type, label: label, status: "active",
                delta: delta, settings: merged, role: .generic))
        schemaChanged(appIdx)
        return fieldID
    }

    private func fieldIndex(_ appIdx: Int, _ fieldID: Int) throws(ControlError) -> Int {
        guard let index = apps[appIdx].fields.firstIndex(where: { $0.id == fieldID }) else {
            throw .unknownField(fieldID)
        }
        return index
    }

    mutating func deleteField(appID: Int, fieldID: Int) throws(ControlError) {
        let appIdx = try app(appID)
        let index = try fieldIndex(appIdx, fieldID)
        guard apps[appIdx].fields[index].isActive else { throw .invalid("field \(fieldID) is already deleted") }
        apps[appIdx].fields[index].status = "deleted"
        schemaChanged(appIdx)
    }

    mutating func renameField(appID: Int, fieldID: Int, label: String, externalID: String?) throws(ControlError) {
        let appIdx = try app(appID)
        let index = try fieldIndex(appIdx, fieldID)
        guard !label.isEmpty else { throw .invalid("label must not be empty") }
        apps[appIdx].fields[index].label = label
        if let externalID { apps[appIdx].fields[index].externalID = externalID }
        schemaChanged(appIdx)
    }

    mutating func addCategoryOption(appID: Int, fieldID: Int, text: String) throws(ControlError) -> Int {
        let appIdx = try app(appID)
        let index = try fieldIndex(appIdx, fieldID)
        var field = apps[appIdx].fields[index]
        guard field.type == "category" else { throw .invalid("field \(fieldID) is not a category field") }
        var options = field.settings["options"]?.arrayValue ?? []
        let optionID = (options.compactMap { $0["id"]?.intValue }.max() ?? 0) + 1
        let colors = ["DCEBD8", "F7F0C5", "D2E4EB", "F7D1D0", "E9E9E9"]
        options.append(FieldCatalog.option(optionID, text, colors[optionID % colors.count]))
        if case .object(var members) = field.settings {
            members.removeAll(where: { $0.key == "options" })
            members.insert(JSONMember(key: "options", value: .array(options)), at: 0)
            field.settings = .object(members)
        }
        apps[appIdx].fields[index] = field
        schemaChanged(appIdx)
        return optionID
    }

    /// A Podio-like external id: lowercase, non-alphanumerics collapsed to '-'.
    static func slug(_ label: String) -> String {
        var out = ""
        var lastDash = false
        for character in label.lowercased() {
            if character.isLetter || character.isNumber {
                out.append(character)
                lastDash = false
            } else if !lastDash && !out.isEmpty {
                out.append("-")
                lastDash = true
            }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "field" : String(out.prefix(50))
    }
}

extension SimulatorState {
    /// Deletes an app in Podio: it leaves the listings, and its definition, items and filter
    /// answer 410 Gone. Its items stay in the truth (a mirror keeps what it had).
    mutating func deleteApp(appID: Int) throws(ControlError) {
        let index = try app(appID)
        hooks.fire(appID: appID, type: "app.delete", [("app_id", String(appID))])
        apps[index].deleted = true
    }
}
