/// JSON of orgs, spaces and apps as Podio serves them.
extension SimulatorState {
    /// The app object of `GET /app/{app_id}` (§4.2), with every field definition, deleted ones included.
    func appJSON(_ app: SimApp) -> JSON {
        .obj([
            "app_id": .int(app.id),
            "status": .string(app.status),
            "space_id": .int(app.spaceID),
            "url_label": .string(app.urlLabel),
            "link": .string(app.link),
            "link_add": .string("\(app.link)/items/new"),
            "current_revision": .int(app.currentRevision),
            "original": .null,
            "original_revision": .int(0),
            "default_view_id": .null,
            "token": .string(app.token),
            "mailbox": .string("\(app.urlLabel).\(String(app.token.prefix(8)))"),
            "owner": .obj([
                "user_id": .int(SeedData.userID),
                "profile_id": .int(SeedData.userProfileID),
                "name": .string(SeedData.userName),
                "type": .string("user"),
            ]),
            "rights": .array(
                ["view", "update", "add_item", "add_hook", "export", "delete", "view_structure"].map(JSON.string)),
            "config": .obj([
                "type": .string("standard"),
                "name": .string(TextCoding.htmlEscape(app.name)),
                "item_name": .string(app.itemName),
                "description": .string("Simulated app"),
                "usage": .null,
                "external_id": .null,
                "icon": .string("55.png"),
                "icon_id": .int(55),
                "allow_edit": .bool(true),
                "allow_create": .bool(true),
                "allow_comments": .bool(true),
                "allow_attachments": .bool(true),
                "allow_tags": .bool(true),
                "default_view": .string("table"),
                "show_app_item_id": .bool(false),
                "app_item_id_prefix": .null,
                "silent_creates": .bool(false),
                "silent_edits": .bool(false),
            ]),
            "created_on": .string(PodioTime.format(app.createdOn)),
            "created_by": SeedData.userByline,
            "fields": .array(app.fields.map(\.definitionJSON)),
        ])
    }

    func spaceJSON(_ space: SimSpace) -> JSON {
        let orgLabel = org(space.orgID)?.urlLabel ?? "org"
        return .obj([
            "space_id": .int(space.id),
            "name": .string(space.name),
            "url": .string("https://podio.com/\(orgLabel)/\(space.urlLabel)"),
            "url_label": .string(space.urlLabel),
            "org_id": .int(space.orgID),
            "privacy": .string("closed"),
            "auto_join": .bool(false),
            "type": .string("regular"),
            "role": .string("admin"),
            "rights": .array(["view", "add_app", "add_item", "add_status", "add_task"].map(JSON.string)),
            "created_on": .string(PodioTime.format(space.createdOn)),
            "created_by": SeedData.userByline,
            "last_activity_on": .string(PodioTime.format(PodioTime.base + 300 * PodioTime.day)),
            "member_count": .int(3),
        ])
    }

    func orgJSON(_ org: SimOrg, withSpaces: Bool) -> JSON {
        var json: JSON = .obj([
            "org_id": .int(org.id),
            "name": .string(org.name),
            "url": .string("https://podio.com/\(org.urlLabel)"),
            "url_label": .string(org.urlLabel),
            "status": .string("active"),
            "logo": .null,
            "image": .null,
            "user_limit": .int(50),
            "type": .string("premium"),
            "segment": .null,
            "tier": .string("plus"),
            "sales_agent_id": .null,
            "domains": .array([]),
            "role": .string("admin"),
            "rights": .array(["view", "add_space", "add_user"].map(JSON.string)),
            "trial_expired_on": .null,
            "created_on": .string(PodioTime.format(org.createdOn)),
            "created_by": SeedData.userByline,
        ])
        if withSpaces {
            json.append("spaces", .array(spaces.filter { $0.orgID == org.id }.map(spaceJSON)))
        }
        return json
    }

    /// `GET /_sim/truth`: every app with its field definitions and each live item exactly as
    /// `GET /item/{id}` serves it, plus the ids of deleted items.
    mutating func truthBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"apps":["#.utf8)
        for appIdx in apps.indices {
            if appIdx > 0 { out.append(UInt8(ascii: ",")) }
            let app = apps[appIdx]
            JSONWriter.write(
                .obj([
                    "app_id": .int(app.id),
                    "space_id": .int(app.spaceID),
                    "url_label": .string(app.urlLabel),
                    "status": .string(app.status),
                    "fields": .array(app.fields.map(\.definitionJSON)),
                ]), into: &out)
            out.removeLast()
            out.append(contentsOf: #","items":["#.utf8)
            var first = true
            for itemIdx in app.items.indices where !app.items[itemIdx].deleted {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                renderItem(appIdx: appIdx, itemIdx: itemIdx, view: .full, into: &out)
            }
            out.append(contentsOf: "]}".utf8)
        }
        out.append(contentsOf: #"],"deleted_item_ids":"#.utf8)
        JSONWriter.write(.array(deletedItemIDs.map(JSON.int)), into: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }
}
