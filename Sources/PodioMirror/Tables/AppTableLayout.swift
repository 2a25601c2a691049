/// The columns an app table should have for its active fields (pure: no database access).
///
/// Fields come in Podio's order (position, then field id); each gets the columns of its
/// `ColumnKind`, named by `TableNaming.ColumnNamer`. The names of kept columns (deleted fields a
/// user's object still uses) are never handed out again.
struct AppTableLayout: Sendable {
    var columns: [AppColumn] = []
    /// Fields left out because the table would have more columns than PostgreSQL allows.
    var omittedFieldIDs: [Int] = []

    /// PostgreSQL allows 1,600 columns in a table, dropped ones included; fields past this many
    /// columns are left out (and logged), leaving room for columns dropped over the table's life.
    static let maxColumns = 1_400

    init(fields: [AppField], reserved: Set<String> = []) {
        var namer = TableNaming.ColumnNamer(reserved: reserved)
        var count = TableNaming.fixedColumns.count + reserved.count
        for field in fields {
            let kind = ColumnKind(field)
            let parts = kind.parts
            if parts.isEmpty { continue }
            if count + parts.count > Self.maxColumns {
                omittedFieldIDs.append(field.fieldID)
                continue
            }
            count += parts.count
            let base = TableNaming.ColumnNamer.baseName(
                fieldID: field.fieldID, externalID: field.externalID, label: field.label)
            let stem = namer.claim(base: base, companions: kind.companions)
            for (part, partKind) in parts {
                columns.append(
                    AppColumn(
                        fieldID: field.fieldID, part: part, name: stem + part.suffix, kind: partKind,
                        fieldType: field.type))
            }
        }
    }
}
