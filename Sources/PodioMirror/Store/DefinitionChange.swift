/// What storing an app's definition changed.
public struct DefinitionChange: Sendable {
    /// The set of fields, their names, types or options changed.
    public var fieldsChanged: Bool
    /// What the app's table had to do to follow.
    public var table: AppTableStore.Report
}
