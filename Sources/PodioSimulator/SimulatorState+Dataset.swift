/// Building the seeded dataset: one org, two spaces, apps and their items.
extension SimulatorState {
    typealias AppSpec = PodioSimulator.AppSpec

    /// The hostile app name: quotes, backslash, HTML, SQL, non-ASCII and emoji.
    static let hostileAppName = "Ops \"Q1\" \\ <Team> & 'Co'; DROP TABLE apps;-- Ünï 🚀"

    mutating func buildOrgAndSpaces() {
        orgs.append(
            SimOrg(
                id: nextOrgID, name: "Acme Ünïcorp & Co", urlLabel: "acme",
                createdOn: PodioTime.base - 400 * PodioTime.day))
        spaces.append(
            SimSpace(
                id: nextSpaceID, orgID: nextOrgID, name: "Sales & Delivery", urlLabel: "sales-delivery",
                createdOn: PodioTime.base - 300 * PodioTime.day))
        spaces.append(
            SimSpace(
                id: nextSpaceID + 1, orgID: nextOrgID, name: "Back office", urlLabel: "back-office",
                createdOn: PodioTime.base - 200 * PodioTime.day))
        nextOrgID += 1
        nextSpaceID += 2
    }

    /// Projects (every type, `items` items), Leads & Clients (about items/10, at least 25),
    /// a small hostile app, an empty app and an inactive app.
    mutating func buildStandardDataset() throws(ControlError) {
        buildOrgAndSpaces()
        let sales = spaces[0].id
        let back = spaces[1].id
        let leads = AppSpec(
            name: "Leads & Clients", urlLabel: "leads-clients", itemCount: max(25, config.items / 10), fields: .simple)
        let leadsID = nextAppID + 1
        let leadsRef = Self.referencedAppJSON(
            id: leadsID, name: leads.name, urlLabel: leads.urlLabel, spaceID: sales, status: "active")
        try addApp(
            AppSpec(name: "Projects", urlLabel: "projects", itemCount: config.items), spaceID: sales,
            referenced: (leadsID, leadsRef))
        try addApp(leads, spaceID: sales, referenced: nil)
        try addApp(
            AppSpec(name: Self.hostileAppName, urlLabel: "ops-q1", itemCount: 12, fields: .hostile), spaceID: back,
            referenced: nil)
        try addApp(
            AppSpec(name: "Archive", urlLabel: "archive", itemCount: 0, fields: .simple), spaceID: back, referenced: nil
        )
        try addApp(
            AppSpec(name: "Old Tasks", urlLabel: "old-tasks", itemCount: 5, fields: .simple, status: "inactive"),
            spaceID: back, referenced: nil)
    }

    mutating func buildCustomDataset(_ specs: [AppSpec]) throws(ControlError) {
        buildOrgAndSpaces()
        for spec in specs {
            try addApp(spec)
        }
    }

    static func referencedAppJSON(id: Int, name: String, urlLabel: String, spaceID: Int, status: String) -> JSON {
        .obj([
            "app_id": .int(id),
            "view_id": .null,
            "app": .obj([
                "app_id": .int(id),
                "status": .string(status),
                "space_id": .int(spaceID),
                "url_label": .string(urlLabel),
                "config": .obj(["name": .string(TextCoding.htmlEscape(name)), "item_name": .string("Item")]),
            ]),
        ])
    }

    /// Adds an app in the first space; its app reference fields point to the first other app.
    @discardableResult
    mutating func addApp(_ spec: AppSpec) throws(ControlError) -> Int {
        guard let spaceID = spaces.first?.id else { throw .invalid("no space") }
        var referenced: (Int, JSON)? = nil
        if let target = apps.first(where: { $0.isActive }) ?? apps.first {
            referenced = (
                target.id,
                Self.referencedAppJSON(
                    id: target.id, name: target.name, urlLabel: target.urlLabel,
                    spaceID: target.spaceID, status: target.status)
            )
        }
        return try addApp(spec, spaceID: spaceID, referenced: referenced)
    }

    @discardableResult
    mutating func addApp(_ spec: AppSpec, spaceID: Int, referenced: (Int, JSON)?) throws(ControlError) -> Int {
        guard spec.status == "active" || spec.status == "inactive" else {
            throw .invalid("status must be active or inactive")
        }
        guard spec.itemCount >= 0 else { throw .invalid("item_count must not be negative") }
        guard !spec.urlLabel.isEmpty else { throw .invalid("url_label must not be empty") }
        if case .wide(let count) = spec.fields, count < 1 { throw .invalid("a wide field set needs at least 1 field") }
        let appID = nextAppID
        nextAppID += 1
        // An app without another app to point to references itself.
        let reference =
            referenced ?? (
                appID,
                Self.referencedAppJSON(
                    id: appID, name: spec.name, urlLabel: spec.urlLabel,
                    spaceID: spaceID, status: spec.status)
            )
        var fields: [SimField] = []
        for (delta, template) in FieldCatalog.templates(for: spec.fields, referencedApp: reference.1).enumerated() {
            fields.append(
                SimField(
                    id: nextFieldID, externalID: template.externalID, type: template.type, label: template.label,
                    status: "active", delta: delta, settings: template.settings, role: template.role))
            nextFieldID += 1
        }
        var random = SplitMix64(seed: config.seed, 0xA99, UInt64(appID))
        let space = space(spaceID)
        let orgLabel = space.flatMap { org($0.orgID) }?.urlLabel ?? "org"
        let app = SimApp(
            id: appID, spaceID: spaceID, name: spec.name, itemName: "Item", urlLabel: spec.urlLabel,
            status: spec.status,
            token: random.hex(32), currentRevision: 1 + random.int(0...20), fields: fields, fieldSet: spec.fields,
            referencedAppID: fields.contains(where: { $0.type == "app" }) ? reference.0 : nil,
            createdOn: PodioTime.base - random.int(10...100) * PodioTime.day,
            link: "https://podio.com/\(orgLabel)/\(space?.urlLabel ?? "space")/apps/\(spec.urlLabel)"
        )
        appIndex[appID] = apps.count
        apps.append(app)
        seedItems(appIdx: apps.count - 1, count: spec.itemCount)
        return appID
    }

    /// Seeded items: created over 300 days of 2024 (two items per timestamp, to exercise
    /// tie-breaking), 40 % edited later, 30 % with comments; all before 2025.
    mutating func seedItems(appIdx: Int, count: Int) {
        guard count > 0 else { return }
        let appID = apps[appIdx].id
        let pairs = max(1, (count + 1) / 2)
        let step = max(1, 300 * PodioTime.day / pairs)
        apps[appIdx].items.reserveCapacity(count)
        apps[appIdx].itemIndex.reserveCapacity(count)
        itemApp.reserveCapacity(itemApp.count + count)
        for position in 0..<count {
            var random = SplitMix64(seed: config.seed, UInt64(appID), UInt64(position))
            let appItemID = position + 1
            let created = PodioTime.base + (position / 2) * step + 3600
            var revision = 0
            var lastEdit = created
            if random.chance(0.4) {
                revision = random.int(1...5)
                lastEdit = created + random.int(3600...(60 * PodioTime.day))
            }
            var lastEvent = lastEdit
            var comments = 0
            if random.chance(0.3) {
                comments = random.int(1...3)
                lastEvent = lastEdit + random.int(60...(3 * PodioTime.day))
            }
            let seed = random.next()
            let initialRevisionID = nextRevisionID
            nextRevisionID += revision + 1
            var item = SimItem(
                itemID: nextItemID, appItemID: appItemID,
                title: ValueGenerator.title(seed: seed, appItemID: appItemID, version: 0),
                createdOn: created, lastEditOn: lastEdit, lastEventOn: lastEvent, revision: revision,
                initialRevisionID: initialRevisionID, currentRevisionID: initialRevisionID + revision,
                valueSeed: seed, fieldLimit: nextFieldID, commentCount: comments
            )
            item.appRevision = apps[appIdx].currentRevision
            apps[appIdx].itemIndex[nextItemID] = apps[appIdx].items.count
            apps[appIdx].items.append(item)
            itemApp[nextItemID] = appID
            nextItemID += 1
        }
        apps[appIdx].liveCount += count
        apps[appIdx].referencePool = apps[appIdx].items.count
        apps[appIdx].nextAppItemID = count + 1
        apps[appIdx].invalidateOrders()
    }
}
