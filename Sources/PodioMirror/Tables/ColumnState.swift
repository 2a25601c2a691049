/// The state of an app table's column, as recorded in `podio.app_columns.state` (the raw values
/// are the stored words).
enum ColumnState: String, Sendable {
    /// The column of an active field, written with the field's kind.
    case active
    /// Its field is gone (or left out), but an object of a user's depends on the column: it is
    /// kept and no longer written, and its name is not handed out again.
    case kept
    /// An object of a user's blocked a change of its type: written with its old kind.
    case stale
    /// Dropped while reconciling; never stored (the row is removed).
    case dropped
}

extension ColumnState {
    /// Whether the writers fill the column (kept and dropped columns are left alone).
    var isWritten: Bool {
        switch self {
        case .active, .stale: true
        case .kept, .dropped: false
        }
    }
}
