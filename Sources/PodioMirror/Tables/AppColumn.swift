/// One column of an app table that holds a field's value (a row of `podio.app_columns`).
public struct AppColumn: Sendable, Equatable {
    public var fieldID: Int
    public var part: ColumnPart
    public var name: String
    public var kind: ColumnPart.Kind
    /// The field's Podio type (the column functions branch on it).
    public var fieldType: String

    /// The SQL that computes this column from `values`, the field's `values` array.
    func expression(values: String) -> String {
        kind.expression(part: part, fieldType: TableNaming.quoteLiteral(fieldType), values: values)
    }

    /// Where the field's values are in `podio.field_values(raw)` (`map`): `map -> '<field_id>'`.
    func expression(map: String) -> String {
        expression(values: "\(map) -> '\(fieldID)'")
    }

    /// A key that names the column's field and part, whatever the column is called.
    var key: Key { Key(fieldID: fieldID, part: part) }

    struct Key: Hashable, Sendable {
        var fieldID: Int
        var part: ColumnPart
    }
}
