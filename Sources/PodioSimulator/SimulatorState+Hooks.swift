/// The events a change fires (reference §7.3; payload fields as the official clients read them).
extension SimulatorState {
    /// item.create / item.update / item.delete: `item_id`, `item_revision_id`, `external_id`
    /// (items made by the simulator have none: an empty value).
    mutating func fireItemEvent(_ type: String, appIdx: Int, itemID: Int, revisionID: Int) {
        hooks.fire(
            appID: apps[appIdx].id, type: type,
            [
                ("item_id", String(itemID)), ("item_revision_id", String(revisionID)), ("external_id", ""),
            ])
    }

    /// file.change: `item_id`, and as the newer doc adds, `action_type` and `file_ids`.
    mutating func fireFileChange(appIdx: Int, itemID: Int, action: String, fileID: Int) {
        hooks.fire(
            appID: apps[appIdx].id, type: "file.change",
            [
                ("item_id", String(itemID)), ("action_type", action), ("file_ids", String(fileID)),
            ])
    }

    /// Runs one change with hooks suppressed when `hook` is false (Podio's `hook=false`).
    mutating func withHooks<T>(_ hook: Bool, _ change: (inout SimulatorState) throws(ControlError) -> T)
        throws(ControlError) -> T
    {
        let before = hooks.suppressing
        hooks.suppressing = before || !hook
        defer { hooks.suppressing = before }
        return try change(&self)
    }
}
