/// Item revisions and their differences (`GET /item/{id}/revision/…`), in the shapes of
/// podio-php's `PodioItemRevision`/`PodioItemDiff`, podio-rb's `ItemRevision`/`ItemDiff` and
/// podio-dotnet's `ItemRevision`. Revisions made through the control API keep the values they
/// had (`SimItem.past`); a seeded item's earlier revisions are synthesized from its seed, spread
/// in time between its creation and its seeded last edit, each with values of its own.
extension SimulatorState {
    /// Value versions of synthesized revisions (far from the versions edits use).
    static let seededHistoryVersion: UInt64 = 0x5EED_0000_0000

    /// Every revision of an item, oldest first (revision 0, its creation, to the current one).
    func revisions(appIdx: Int, itemIdx: Int) -> [SimRevision] {
        let item = apps[appIdx].items[itemIdx]
        let seeded = item.revision - item.past.count
        let seededLast = item.past.first?.createdOn ?? item.lastEditOn
        let seededState = item.past.first?.state ?? item.state
        let seededAppRevision = item.past.first?.appRevision ?? item.appRevision
        var out: [SimRevision] = []
        out.reserveCapacity(item.revision + 1)
        for k in 0..<max(0, seeded) {
            var state = seededState
            state.valueVersion = Self.seededHistoryVersion + UInt64(k)
            state.title = ValueGenerator.title(
                seed: item.valueSeed ^ (UInt64(k) + 1), appItemID: item.appItemID, version: 0)
            let createdOn = k == 0 ? item.createdOn : item.createdOn + (seededLast - item.createdOn) * k / seeded
            out.append(
                SimRevision(
                    revision: k, revisionID: item.initialRevisionID + k, createdOn: createdOn,
                    appRevision: seededAppRevision,
                    state: state))
        }
        out.append(contentsOf: item.past)
        out.append(
            SimRevision(
                revision: item.revision, revisionID: item.currentRevisionID, createdOn: item.lastEditOn,
                appRevision: item.appRevision, state: item.state))
        return out
    }

    /// A revision as `GET /item/{id}/revision/` lists it.
    func itemRevisionJSON(_ revision: SimRevision) -> JSON {
        .obj([
            "revision": .int(revision.revision),
            "item_revision_id": .int(revision.revisionID),
            "app_revision": .int(revision.appRevision),
            "type": .string(revision.revision == 0 ? "creation" : "update"),
            "created_by": SeedData.userByline,
            "created_via": SeedData.createdVia,
            "created_on": .string(PodioTime.format(revision.createdOn)),
        ])
    }

    /// The fields of an item at one revision (full view: `config` whole), by field id.
    func fieldsAt(appIdx: Int, itemIdx: Int, _ revision: SimRevision) -> [JSON] {
        fieldObjects(appIdx: appIdx, item: apps[appIdx].items[itemIdx].with(revision.state), view: .full)
    }

    /// The fields whose values differ between two revisions, in the fields' order: each
    /// `{field_id, type, external_id, label, config, from, to}`, a side without a value `[]`.
    func revisionDiff(appIdx: Int, itemIdx: Int, from: SimRevision, to: SimRevision) -> [JSON] {
        let before = fieldsAt(appIdx: appIdx, itemIdx: itemIdx, from)
        let after = fieldsAt(appIdx: appIdx, itemIdx: itemIdx, to)
        var order: [Int] = []
        var fields: [Int: JSON] = [:]
        for field in after + before {
            guard let id = field["field_id"]?.intValue, fields[id] == nil else { continue }
            order.append(id)
            fields[id] = field
        }
        func values(_ list: [JSON], _ id: Int) -> [JSON] {
            list.first(where: { $0["field_id"]?.intValue == id })?["values"]?.arrayValue ?? []
        }
        var out: [JSON] = []
        for id in order.sorted(by: { a, b in
            let ia = after.firstIndex(where: { $0["field_id"]?.intValue == a }) ?? Int.max
            let ib = after.firstIndex(where: { $0["field_id"]?.intValue == b }) ?? Int.max
            return ia == ib ? a < b : ia < ib
        }) {
            let old = values(before, id)
            let new = values(after, id)
            guard old != new, let field = fields[id] else { continue }
            out.append(
                .obj([
                    "field_id": .int(id),
                    "type": field["type"] ?? .null,
                    "external_id": field["external_id"] ?? .null,
                    "label": field["label"] ?? .null,
                    "config": field["config"] ?? .null,
                    "from": .array(old),
                    "to": .array(new),
                ]))
        }
        return out
    }
}
