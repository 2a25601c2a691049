/// Field definitions of the field sets, and the default settings of each type.
enum FieldCatalog {
    /// A field template before ids are assigned.
    struct Template {
        var externalID: String
        var type: String
        var label: String
        var settings: JSON
        var role: FieldRole = .generic
    }

    static func templates(for set: PodioSimulator.FieldSet, referencedApp: JSON?) -> [Template] {
        switch set {
        case .everyType: return everyType(referencedApp: referencedApp)
        case .simple: return simple()
        case .hostile: return hostile()
        case .wide(let fields): return wide(fields: fields)
        case .legacy: return legacy()
        }
    }

    static func option(_ id: Int, _ text: String, _ color: String, status: String = "active") -> JSON {
        .obj(["id": .int(id), "text": .string(text), "status": .string(status), "color": .string(color)])
    }

    static func categorySettings(_ options: [JSON], multiple: Bool) -> JSON {
        .obj([
            "options": .array(options), "multiple": .bool(multiple), "display": .string(multiple ? "list" : "inline"),
        ])
    }

    static func dateSettings(time: String, end: String) -> JSON {
        .obj(["calendar": .bool(true), "end": .string(end), "time": .string(time), "color": .string("DCEBD8")])
    }

    static func calculationSettings(returnType: String) -> JSON {
        .obj([
            "script": .string(
                returnType == "date"
                    ? "moment(@[Deadline](field_deadline)).add(7, 'days')" : "@[Amount](field_amount) * 2"),
            "return_type": .string(returnType),
            "decimals": returnType == "number" ? .int(4) : .null,
            "unit": .null,
            "expression": .null,
            "time": returnType == "date" ? .string("disabled") : .null,
            "calendar": returnType == "date" ? .bool(false) : .null,
            "color": .null,
        ])
    }

    static func textSettings(format: String, size: String) -> JSON {
        .obj(["format": .string(format), "size": .string(size)])
    }

    /// Settings for a field created through `addField`, before the caller's overrides.
    static func defaultSettings(type: String, referencedApp: JSON?) -> JSON {
        switch type {
        case "text": return textSettings(format: "plain", size: "small")
        case "number": return .obj(["decimals": .int(2)])
        case "money": return .obj(["allowed_currencies": .array([.string("EUR"), .string("USD"), .string("DKK")])])
        case "duration":
            return .obj(["fields": .array([.string("days"), .string("hours"), .string("minutes"), .string("seconds")])])
        case "category": return categorySettings([], multiple: false)
        case "date": return dateSettings(time: "enabled", end: "disabled")
        case "app":
            let referenced: [JSON] = referencedApp.map { [$0] } ?? []
            return .obj(["referenced_apps": .array(referenced), "multiple": .bool(true)])
        case "contact": return .obj(["type": .string("space_users"), "valid_types": .array([.string("user")])])
        case "location": return .obj(["structured": .bool(true), "has_map": .bool(true)])
        case "image": return .obj(["allowed_mimetypes": .array([.string("image/*")])])
        case "file": return .obj(["allowed_mimetypes": .array([])])
        case "email":
            return .obj([
                "possible_types": .array([.string("work"), .string("home"), .string("other")]),
                "include_in_cc": .bool(false), "include_in_bcc": .bool(false),
            ])
        case "phone":
            return .obj([
                "possible_types": .array(
                    ["mobile", "work", "home", "main", "work_fax", "private_fax", "other"].map(JSON.string)),
                "call_link_scheme": .string("callto"),
            ])
        case "calculation": return calculationSettings(returnType: "number")
        case "question":
            return categorySettings([option(1, "Yes", "DCEBD8"), option(2, "No", "F7D1D0")], multiple: false)
        case "state": return .obj(["allowed_values": .array(stateValues.map(JSON.string))])
        default: return .object([])
        }
    }

    private static func everyType(referencedApp: JSON?) -> [Template] {
        let status = [
            option(1, "Open", "DCEBD8"), option(2, "In progress", "F7F0C5"), option(3, "Done", "D2E4EB"),
            option(4, "Blocked ⛔", "F7D1D0"), option(5, "Legacy", "E9E9E9", status: "deleted"),
        ]
        let labels = [
            option(1, "Red", "F7D1D0"), option(2, "Grün", "DCEBD8"), option(3, "蓝色", "D2E4EB"),
            option(4, "Quote \"q\" & <b>", "F7F0C5"), option(5, "'); DROP TABLE items;--", "E9E9E9"),
        ]
        return [
            Template(
                externalID: "title", type: "text", label: "Title",
                settings: textSettings(format: "plain", size: "small"), role: .title),
            Template(
                externalID: "description", type: "text", label: "Description",
                settings: textSettings(format: "html", size: "large"), role: .richText),
            Template(
                externalID: "notes", type: "text", label: "Notes",
                settings: textSettings(format: "plain", size: "large"), role: .hostileText),
            Template(externalID: "amount", type: "number", label: "Amount", settings: .obj(["decimals": .int(2)])),
            Template(
                externalID: "budget", type: "money", label: "Budget",
                settings: defaultSettings(type: "money", referencedApp: nil)),
            Template(externalID: "progress", type: "progress", label: "Progress", settings: .object([])),
            Template(
                externalID: "effort", type: "duration", label: "Effort",
                settings: defaultSettings(type: "duration", referencedApp: nil)),
            Template(
                externalID: "status", type: "category", label: "Status",
                settings: categorySettings(status, multiple: false)),
            Template(
                externalID: "labels", type: "category", label: "Labels",
                settings: categorySettings(labels, multiple: true)),
            Template(
                externalID: "deadline", type: "date", label: "Deadline",
                settings: dateSettings(time: "enabled", end: "disabled")),
            Template(
                externalID: "period", type: "date", label: "Period",
                settings: dateSettings(time: "enabled", end: "enabled")),
            Template(
                externalID: "day-off", type: "date", label: "Day off",
                settings: dateSettings(time: "disabled", end: "disabled")),
            Template(
                externalID: "client", type: "app", label: "Client",
                settings: defaultSettings(type: "app", referencedApp: referencedApp)),
            Template(
                externalID: "owner", type: "contact", label: "Owner",
                settings: defaultSettings(type: "contact", referencedApp: nil)),
            Template(
                externalID: "site", type: "location", label: "Site",
                settings: defaultSettings(type: "location", referencedApp: nil)),
            Template(externalID: "website", type: "embed", label: "Website", settings: .object([])),
            Template(
                externalID: "photo", type: "image", label: "Photo",
                settings: defaultSettings(type: "image", referencedApp: nil)),
            Template(
                externalID: "attachment", type: "file", label: "Attachment",
                settings: defaultSettings(type: "file", referencedApp: nil)),
            Template(
                externalID: "email", type: "email", label: "Email",
                settings: defaultSettings(type: "email", referencedApp: nil)),
            Template(
                externalID: "phone", type: "phone", label: "Phone",
                settings: defaultSettings(type: "phone", referencedApp: nil)),
            Template(externalID: "fax", type: "tel", label: "Fax", settings: .object([])),
            Template(
                externalID: "total", type: "calculation", label: "Total",
                settings: calculationSettings(returnType: "number")),
            Template(
                externalID: "review-date", type: "calculation", label: "Review date",
                settings: calculationSettings(returnType: "date")),
        ]
    }

    private static func simple() -> [Template] {
        [
            Template(
                externalID: "title", type: "text", label: "Title",
                settings: textSettings(format: "plain", size: "small"), role: .title),
            Template(externalID: "amount", type: "number", label: "Amount", settings: .obj(["decimals": .int(2)])),
            Template(
                externalID: "stage", type: "category", label: "Stage",
                settings: categorySettings(
                    [
                        option(1, "New", "DCEBD8"), option(2, "Qualified", "F7F0C5"), option(3, "Won", "D2E4EB"),
                        option(4, "Lost", "F7D1D0"),
                    ], multiple: false)),
        ]
    }

    /// A title, then fields cycling through ten types; external ids `<kind>-<n>` (`number-001`).
    private static func wide(fields count: Int) -> [Template] {
        let stages = categorySettings(
            [
                option(1, "New", "DCEBD8"), option(2, "Qualified", "F7F0C5"), option(3, "Won", "D2E4EB"),
                option(4, "Lost", "F7D1D0"),
            ], multiple: false)
        let tags = categorySettings(
            [
                option(1, "VIP", "F7D1D0"), option(2, "Partner", "DCEBD8"), option(3, "Nordics", "D2E4EB"),
                option(4, "Renewal", "F7F0C5"),
            ], multiple: true)
        let cycle: [(kind: String, type: String, settings: JSON)] = [
            ("number", "number", .obj(["decimals": .int(2)])),
            ("text", "text", textSettings(format: "plain", size: "small")),
            ("money", "money", defaultSettings(type: "money", referencedApp: nil)),
            ("stage", "category", stages),
            ("due", "date", dateSettings(time: "enabled", end: "disabled")),
            ("progress", "progress", .object([])),
            ("effort", "duration", defaultSettings(type: "duration", referencedApp: nil)),
            ("tags", "category", tags),
            ("day", "date", dateSettings(time: "disabled", end: "disabled")),
            ("email", "email", defaultSettings(type: "email", referencedApp: nil)),
        ]
        var templates = [
            Template(
                externalID: "title", type: "text", label: "Title",
                settings: textSettings(format: "plain", size: "small"), role: .title)
        ]
        for index in stride(from: 1, to: count, by: 1) {
            let entry = cycle[(index - 1) % cycle.count]
            let number = String(repeating: "0", count: max(0, 3 - String(index).count)) + String(index)
            templates.append(
                Template(
                    externalID: "\(entry.kind)-\(number)", type: entry.type,
                    label: "\(entry.kind.capitalized) \(number)",
                    settings: entry.settings))
        }
        return templates
    }

    /// The values of the legacy `state` fields (`settings.allowed_values`).
    static let stateValues = ["Not started", "In progress", "Done", "Won't do — ✗"]

    /// The legacy types (reference §4.3, §6; their shapes are the official clients' readings):
    /// `question` like a category (podio-dotnet), `state` one text of `allowed_values`
    /// (podio-java, podio-dotnet), `tag` texts (podio-php), `member` a user id and `video` a
    /// file id (Podio's sub_id list, podio-go).
    private static func legacy() -> [Template] {
        let answers = [
            option(1, "Yes", "DCEBD8"), option(2, "No", "F7D1D0"), option(3, "Maybe 🤔", "F7F0C5"),
            option(4, "Retired", "E9E9E9", status: "deleted"),
        ]
        return [
            Template(
                externalID: "title", type: "text", label: "Title",
                settings: textSettings(format: "plain", size: "small"), role: .title),
            Template(
                externalID: "approved", type: "question", label: "Approved?",
                settings: categorySettings(answers, multiple: false)),
            Template(
                externalID: "reasons", type: "question", label: "Reasons",
                settings: categorySettings(answers, multiple: true)),
            Template(
                externalID: "stage", type: "state", label: "Stage",
                settings: defaultSettings(type: "state", referencedApp: nil)),
            Template(externalID: "organization", type: "tag", label: "Organization", settings: .object([])),
            Template(externalID: "assignee", type: "member", label: "Assignee", settings: .object([])),
            Template(externalID: "clip", type: "video", label: "Clip", settings: .object([])),
        ]
    }

    /// Labels and external ids that break naive SQL generation and naive escaping.
    private static func hostile() -> [Template] {
        let longLabel = String(repeating: "Very long label ", count: 62) + "12345678"  // 62 * 16 + 8 = 1,000 characters
        return [
            Template(
                externalID: "\"quoted\"", type: "text", label: "Title \"quoted\" \\ back\\slash",
                settings: textSettings(format: "plain", size: "small"), role: .title),
            Template(externalID: "select", type: "number", label: "select", settings: .obj(["decimals": .int(0)])),
            Template(
                externalID: "order", type: "category", label: "order",
                settings: categorySettings(
                    [
                        option(1, "'); DROP TABLE x;--", "DCEBD8"), option(2, "\"quoted\"", "F7F0C5"),
                        option(3, "naïve ☃", "D2E4EB"),
                    ], multiple: true)),
            Template(
                externalID: "with space", type: "text", label: "with space",
                settings: textSettings(format: "plain", size: "large"), role: .hostileText),
            Template(
                externalID: "back\\slash", type: "date", label: "back\\slash",
                settings: dateSettings(time: "enabled", end: "enabled")),
            Template(
                externalID: "ünïcödé-名前-🚀", type: "money", label: "Ünïcödé 名前 🚀",
                settings: defaultSettings(type: "money", referencedApp: nil)),
            Template(
                externalID: "ctl-\t-\u{1}-\u{1f}", type: "text", label: "Tab\there\u{1}Bell\u{7}",
                settings: textSettings(format: "plain", size: "small")),
            Template(externalID: "long-label", type: "progress", label: longLabel, settings: .object([])),
            Template(
                externalID: "from", type: "email", label: "FROM \"items\"; --",
                settings: defaultSettings(type: "email", referencedApp: nil)),
            Template(externalID: "Order", type: "number", label: "Order", settings: .obj(["decimals": .int(2)])),
        ]
    }
}
