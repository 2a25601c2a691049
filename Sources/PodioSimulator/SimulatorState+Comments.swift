/// Comments on items. Seeded items carry only a count (their comments are synthesized from the
/// item when first needed, so a big dataset costs no memory for them); a comment made, edited or
/// deleted through the control API materializes the item's list. Every change moves the item's
/// `comment_count` and `last_event_on`, never its revision (as in Podio).
struct SimComment: Sendable {
    var id: Int
    var text: String
    var createdOn: Int
    /// When the text was last changed (not rendered: Podio's comment object has no documented
    /// edit time; see docs/simulator.md).
    var editedOn: Int?
    var deleted = false
}

extension SimulatorState {
    /// The item's comments, deleted ones included (seeded ones synthesized).
    func comments(appIdx: Int, itemIdx: Int) -> [SimComment] {
        let item = apps[appIdx].items[itemIdx]
        if let list = item.comments { return list }
        return (0..<item.commentCount).map { index in
            SimComment(
                id: item.itemID % 100_000_000 * 100 + index, text: "Comment \(index + 1) — ✓",
                createdOn: index == item.commentCount - 1 ? item.lastEventOn : item.createdOn)
        }
    }

    /// A comment in Podio's shape (podio-php `PodioComment`, podio-rb `Comment`).
    func commentJSON(_ comment: SimComment, itemID: Int, spaceID: Int) -> JSON {
        .obj([
            "comment_id": .int(comment.id),
            "value": .string(comment.text),
            "rich_value": .string(TextCoding.htmlEscape(comment.text)),
            "external_id": .null,
            "space_id": .int(spaceID),
            "created_on": .string(PodioTime.format(comment.createdOn)),
            "created_by": SeedData.userByline,
            "created_via": SeedData.createdVia,
            "ref": .obj(["type": .string("item"), "id": .int(itemID)]),
            "files": .array([]),
            "like_count": .int(0),
            "is_liked": .bool(false),
        ])
    }

    /// The live comments of an item in Podio's shape, oldest first.
    func liveCommentsJSON(appIdx: Int, itemIdx: Int) -> [JSON] {
        let item = apps[appIdx].items[itemIdx]
        return comments(appIdx: appIdx, itemIdx: itemIdx).filter { !$0.deleted }.map {
            commentJSON($0, itemID: item.itemID, spaceID: apps[appIdx].spaceID)
        }
    }

    private mutating func updateComments(
        _ location: (app: Int, item: Int), now: Int, _ change: (inout [SimComment]) throws(ControlError) -> Void
    ) throws(ControlError) {
        var list = comments(appIdx: location.app, itemIdx: location.item)
        try change(&list)
        var item = apps[location.app].items[location.item]
        item.comments = list
        item.commentCount = list.filter { !$0.deleted }.count
        item.lastEventOn = max(now, item.lastEventOn)
        apps[location.app].items[location.item] = item
    }

    /// Adds a comment: comment_count += 1 and last_event_on = now, without a new revision.
    mutating func addComment(itemID: Int, text: String?, now: Int) throws(ControlError) -> Int {
        let location = try liveItem(itemID)
        let id = nextCommentID
        nextCommentID += 1
        try updateComments(location, now: now) { list throws(ControlError) in
            list.append(SimComment(id: id, text: text ?? "Comment \(id)", createdOn: now))
        }
        hooks.fire(
            appID: apps[location.app].id, type: "comment.create",
            [("item_id", String(itemID)), ("comment_id", String(id))])
        return id
    }

    /// The live item holding a comment, and the comment's index in its list.
    private func locateComment(_ commentID: Int) throws(ControlError) -> (app: Int, item: Int, index: Int) {
        for appIdx in apps.indices {
            for itemIdx in apps[appIdx].items.indices
            where !apps[appIdx].items[itemIdx].deleted
                && (apps[appIdx].items[itemIdx].comments != nil || apps[appIdx].items[itemIdx].commentCount > 0)
            {
                if let index = comments(appIdx: appIdx, itemIdx: itemIdx).firstIndex(where: {
                    $0.id == commentID && !$0.deleted
                }) {
                    return (appIdx, itemIdx, index)
                }
            }
        }
        throw .invalid("no comment \(commentID)")
    }

    /// Changes a comment's text: last_event_on = now, no new revision.
    mutating func editComment(commentID: Int, text: String, now: Int) throws(ControlError) {
        let found = try locateComment(commentID)
        try updateComments((found.app, found.item), now: now) { list throws(ControlError) in
            list[found.index].text = text
            list[found.index].editedOn = now
        }
    }

    /// Deletes a comment: comment_count -= 1, last_event_on = now, no new revision.
    mutating func deleteComment(commentID: Int, now: Int) throws(ControlError) {
        let found = try locateComment(commentID)
        try updateComments((found.app, found.item), now: now) { list throws(ControlError) in
            list[found.index].deleted = true
        }
        let itemID = apps[found.app].items[found.item].itemID
        hooks.fire(
            appID: apps[found.app].id, type: "comment.delete",
            [("item_id", String(itemID)), ("comment_id", String(commentID))])
    }
}
