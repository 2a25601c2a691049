/// Moving an item to another app, as Podio's "move item" does: the item keeps its item_id,
/// gets the target app, a new app_item_id there and a new revision (so it shows up in the
/// target app's `last_edit_on` order), and leaves the source app's listings.
extension SimulatorState {
    mutating func moveItem(itemID: Int, toAppID: Int, now: Int) throws(ControlError) {
        let location = try liveItem(itemID)
        let targetIdx = try app(toAppID)
        guard targetIdx != location.app else { throw .invalid("item \(itemID) is already in app \(toAppID)") }
        guard apps[targetIdx].isActive else { throw .invalid("app \(toAppID) is not active") }
        var item = apps[location.app].items[location.item]
        let before = item

        // The source keeps a placeholder, not live and not deleted in the truth (its array
        // positions, which references pick from, stay as they were).
        var placeholder = item
        placeholder.deleted = true
        dropCache(&placeholder)
        apps[location.app].items[location.item] = placeholder
        apps[location.app].liveCount -= 1
        apps[location.app].invalidateOrders()
        invalidateReferencesTo(apps[location.app].id)

        // In the target: the next app_item_id, values for the target's fields, a new revision.
        let revisionID = allocateRevisionID()
        dropCache(&item)
        item.past.append(
            SimRevision(
                revision: before.revision, revisionID: before.currentRevisionID, createdOn: before.lastEditOn,
                appRevision: before.appRevision, state: before.state))
        item.appItemID = apps[targetIdx].nextAppItemID
        apps[targetIdx].nextAppItemID += 1
        item.rawFields = nil
        item.fillAll = true
        item.cleared.removeAll()
        item.fieldLimit = nextFieldID
        item.valueVersion += 1
        item.appRevision = apps[targetIdx].currentRevision
        item.revision += 1
        item.currentRevisionID = revisionID
        item.lastEditOn = max(now, item.lastEditOn)
        item.lastEventOn = max(now, item.lastEventOn)
        apps[targetIdx].itemIndex[itemID] = apps[targetIdx].items.count
        apps[targetIdx].items.append(item)
        apps[targetIdx].liveCount += 1
        apps[targetIdx].movedIn = true
        apps[targetIdx].invalidateOrders()
        itemApp[itemID] = apps[targetIdx].id
        invalidateReferencesTo(apps[targetIdx].id)
        fireItemEvent("item.update", appIdx: targetIdx, itemID: itemID, revisionID: revisionID)
    }
}
