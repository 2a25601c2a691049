/// What kind of generated content a field gets (beyond what its type says).
enum FieldRole: Sendable {
    /// The item title: always set, equal to the item's `title`.
    case title
    /// HTML text (`<p>…</p>`), with one item carrying more than 10 KB.
    case richText
    /// Plain text full of hostile strings (quotes, SQL, emoji, control characters).
    case hostileText
    /// Anything else: content follows the type and settings.
    case generic
}

/// A field definition of an app (`app.fields[]`).
struct SimField: Sendable {
    var id: Int
    var externalID: String
    var type: String
    var label: String
    /// "active" or "deleted"; deleted fields stay in the app definition.
    var status: String
    /// Display order.
    var delta: Int
    /// `config.settings`, an object.
    var settings: JSON
    var role: FieldRole

    var isActive: Bool { status == "active" }

    /// `config` as served in `GET /app/{id}` and inside the fields of `GET /item/{id}`.
    var configJSON: JSON {
        .obj([
            "label": .string(label),
            "description": .null,
            "delta": .int(delta),
            "required": .bool(role == .title),
            "unique": .bool(false),
            "hidden": .bool(false),
            "visible": .bool(true),
            "hidden_create_view_edit": .bool(false),
            "default_value": .null,
            "mapping": .null,
            "settings": settings,
        ])
    }

    /// `config` as filter results carry it in each item's fields: trimmed to `settings`,
    /// `mapping` and `label` (real captures, reference §12).
    var trimmedConfigJSON: JSON {
        .obj(["settings": settings, "mapping": .null, "label": .string(label)])
    }

    /// The field definition object of `GET /app/{id}`.
    var definitionJSON: JSON {
        .obj([
            "field_id": .int(id),
            "external_id": .string(externalID),
            "type": .string(type),
            "label": .string(label),
            "status": .string(status),
            "config": configJSON,
        ])
    }

    /// The active category options as (id, JSON) pairs.
    var activeOptions: [JSON] {
        guard let options = settings["options"]?.arrayValue else { return [] }
        return options.filter { $0["status"]?.stringValue == "active" }
    }
}
