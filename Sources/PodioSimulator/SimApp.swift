/// An app with its field definitions and its items (in item_id order).
struct SimApp: Sendable {
    var id: Int
    var spaceID: Int
    var name: String
    var itemName: String
    var urlLabel: String
    var status: String
    var token: String
    /// Grows on every schema change.
    var currentRevision: Int
    var fields: [SimField]
    var fieldSet: PodioSimulator.FieldSet
    /// The app that `app` reference fields point to.
    var referencedAppID: Int?
    var createdOn: Int
    /// `https://podio.com/{org}/{space}/apps/{url_label}`
    var link: String
    var items: [SimItem] = []
    /// item_id → index in `items`.
    var itemIndex: [Int: Int] = [:]
    var liveCount = 0
    /// References from this app's items to the app's items pick among the first this many
    /// (the seeded ones), so that creating items never changes existing items' values.
    var referencePool = 0
    var nextAppItemID = 1
    /// Bumped whenever every rendered item of this app must be rendered again.
    var renderEpoch = 0
    /// Cached item orders (indexes into `items`), keyed by "sort_by/desc"; cleared on change.
    var sortCache: [String: [Int32]] = [:]

    /// Deleted in Podio (`deleteApp`): listings leave it out, and its definition, items and
    /// filter answer 410 Gone.
    var deleted = false

    /// An item moved here from another app (`moveItem`): `items` is no longer in item_id
    /// order, so the item_id order is sorted.
    var movedIn = false

    var isActive: Bool { status == "active" && !deleted }

    /// Forget cached sort orders (after an item was created, edited or deleted).
    mutating func invalidateOrders() {
        sortCache.removeAll(keepingCapacity: true)
    }

    /// Forget every rendered item (after a schema change).
    mutating func invalidateRendering() {
        renderEpoch += 1
    }
}
