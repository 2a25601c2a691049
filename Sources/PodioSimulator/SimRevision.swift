/// What an item's field values are made of at one revision: the generated values follow from
/// these (and the app's fields), so keeping them is keeping the revision's values.
struct SimItemState: Sendable {
    var title: String
    var valueVersion: UInt64
    var fieldLimit: Int
    var cleared: Set<Int>
    var fillAll: Bool
    var rawFields: [JSON]?
}

/// One revision of an item: revision 0 is its creation, each change adds one.
struct SimRevision: Sendable {
    var revision: Int
    var revisionID: Int
    var createdOn: Int
    /// The app's revision when it was made.
    var appRevision: Int
    var state: SimItemState
}

extension SimItem {
    /// The values of the current revision.
    var state: SimItemState {
        SimItemState(
            title: title, valueVersion: valueVersion, fieldLimit: fieldLimit, cleared: cleared, fillAll: fillAll,
            rawFields: rawFields)
    }

    /// This item with the values of `state` (to render an earlier revision).
    func with(_ state: SimItemState) -> SimItem {
        var copy = self
        copy.title = state.title
        copy.valueVersion = state.valueVersion
        copy.fieldLimit = state.fieldLimit
        copy.cleared = state.cleared
        copy.fillAll = state.fillAll
        copy.rawFields = state.rawFields
        copy.cachedFields = nil
        return copy
    }
}
