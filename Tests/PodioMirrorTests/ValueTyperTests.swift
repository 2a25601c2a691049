import Foundation
import LibPQ
import TestSupport
import Testing

@testable import PodioMirror

/// The typed columns computed in Swift (`ValueTyper`, used when a page is written) against the
/// `podio.col_*` functions of schema.sql (used when a table is filled from the raw JSON): the
/// same adversarial values typed both ways must give the same values, PostgreSQL printing both.
@Suite("ValueTyper differential")
struct ValueTyperTests {
    static let fieldTypes = [
        "text", "email", "phone", "tel", "state", "tag", "category", "question", "app", "contact", "member",
        "location", "embed", "image", "file", "calculation", "number", "money", "progress", "duration", "date",
        "video", "hologram",
    ]

    static let columnKinds: [(ColumnPart.Kind, ColumnPart)] = [
        (.text, .value), (.numeric, .value), (.currency, .currency), (.integer, .value), (.interval, .value),
        (.moment, .value), (.moment, .end), (.date, .value), (.date, .end), (.calculationText, .value),
        (.textArray, .value), (.idArray, .value), (.json, .value),
    ]

    /// One entry of a field's `values` each (JSON text), of every shape Podio sends and many it should not.
    static let values: [String] = [
        #"{"value": "hello"}"#, #"{"value": ""}"#, #"{"value": "tab\tnew\nline \\ back \"q\" \u0001"}"#,
        #"{"value": "ünïcödé 🚀 中文 \u00e9"}"#, #"{"value": 42}"#, #"{"value": -0}"#, #"{"value": -0.00}"#,
        #"{"value": 1.50e1}"#, #"{"value": 1e-2}"#, #"{"value": 12.30}"#, #"{"value": 1E+3}"#,
        #"{"value": "  +007.50 "}"#, #"{"value": " 12 \n"}"#, #"{"value": "-0"}"#, #"{"value": "1e3"}"#,
        #"{"value": "1,5"}"#, #"{"value": ".5"}"#, #"{"value": "5."}"#, #"{"value": "-"}"#, #"{"value": "+-1"}"#,
        "{\"value\": \"\(String(repeating: "9", count: 100))\"}",
        "{\"value\": \"\(String(repeating: "9", count: 101))\"}",
        "{\"value\": \"0.\(String(repeating: "1", count: 100))\"}",
        "{\"value\": \"0.\(String(repeating: "1", count: 101))\"}",
        #"{"value": 1e99}"#, #"{"value": 1e100}"#, #"{"value": 1.5e-100}"#, #"{"value": 1e-101}"#,
        #"{"value": 2147483647}"#, #"{"value": 2147483647.5}"#, #"{"value": 2147483646.5}"#,
        #"{"value": -2147483648}"#, #"{"value": -2147483648.5}"#, #"{"value": -2147483647.5}"#,
        #"{"value": 2.5}"#, #"{"value": -2.5}"#, #"{"value": 0.49999}"#, #"{"value": 93784}"#,
        #"{"value": 0.0000015}"#, #"{"value": 1.23456789}"#, #"{"value": 999999999999.9}"#, #"{"value": 1e15}"#,
        #"{"value": -86400.5}"#, #"{"value": 123456789012.123456789}"#, #"{"value": true}"#, #"{"value": null}"#,
        #"{"value": [1, 2]}"#, #"{"value": {"text": "Open", "id": 7}}"#, #"{"value": {"text": 5, "id": "8"}}"#,
        #"{"value": {"text": {"bb": 1, "a": [true, null, "x\u0001y\u001f"], "a": 2.50}, "id": 1.2e1}}"#,
        #"{"value": {"text": null, "id": 12.0}}"#, #"{"value": {"id": "0123"}}"#,
        #"{"value": {"id": "123456789012345678"}}"#, #"{"value": {"id": "1234567890123456789"}}"#,
        #"{"value": {"id": "-5"}}"#, #"{"value": {"id": " 5"}}"#, #"{"value": {"title": "T", "item_id": 99}}"#,
        #"{"value": {"name": "N", "profile_id": "77", "file_id": 5, "user_id": 3}}"#,
        #"{"value": {"name": ["x"], "profile_id": -0, "file_id": 5e0, "user_id": "4"}}"#, #"{"value": 17}"#,
        #"{"value": "18"}"#, #"{"value": "3.14"}"#, #"{"formatted": "Street 1", "value": "raw"}"#,
        #"{"formatted": null, "value": "raw2"}"#, #"{"formatted": {"x": 1}}"#, #"{"value": {"y": 1}}"#,
        #"{"embed": {"resolved_url": null, "url": "http://u", "original_url": "o", "embed_id": 4}}"#,
        #"{"embed": {"original_url": "o", "embed_id": "4x"}}"#, #"{"embed": "http://flat"}"#,
        #"{"value": "abc", "currency": "EUR"}"#, #"{"value": "10.00", "currency": "USD"}"#,
        #"{"value": 5, "currency": 5}"#, #"{"value": 5, "currency": null}"#,
        #"{"start": "2024-03-05 10:20:30", "start_utc": "2024-03-05 09:20:30", "end_utc": "2024-03-06 01:00:00", "start_date": "2024-03-05", "end_date": "2024-03-06"}"#,
        #"{"start_date": "2024-02-29", "end_date": "2023-02-29", "start_time": null}"#,
        #"{"start_utc": "2024-13-01 00:00:00"}"#, #"{"start_utc": "2024-01-01 24:00:00"}"#,
        #"{"start_utc": "2024-01-01 23:59:60"}"#, #"{"start_utc": "2024-01-01"}"#,
        #"{"start_utc": "0999-01-01 10:00:00"}"#,
        #"{"start_utc": "2024-01-01T10:00:00Z"}"#, #"{"start_utc": "2024-01-01 10:00:00\n"}"#,
        #"{"start_utc": "2024-01-01 10:00:00", "start_time_utc": "10:00:00"}"#, #"{"start_utc": 20240101}"#,
        #"{"start": "2024-06-01", "start_date_utc": "2024-05-31"}"#, #"{"start": "2024-06-01 23:59:59"}"#,
        #"{"start": "2024-06-0112:00"}"#,
        #"{"start_time_utc": "10:00:00", "start_utc": "2024-01-01 10:00:00", "end_utc": "2024-01-02 00:00:00"}"#,
        #"{"start_time_utc": null, "start_date": "2024-01-01", "start_utc": "2024-01-01 10:00:00"}"#,
        #"{"start_time": "08:00", "start_utc": "2024-07-01 06:00:00", "end_date": "2024-07-02"}"#,
        #"{"start_utc": {"a": "bcdefghi"}}"#, #"{"start_utc": {"a": "bcdefgh"}, "start_date": "2024-01-01"}"#,
        #"{"start_date": "2024-02-30"}"#, #"{"start_date": "1900-02-29"}"#, #"{"start_date": "2000-02-29"}"#,
        #"{"start": "2024-04-31"}"#, #"{"start_date": "２０２４-01-01"}"#, #"{"start": "ü2024-01-01"}"#,
        #"{"start": "2024-01-01ü", "start_utc": null}"#, #"{"start_date": 20240101, "end_date_utc": "2024-01-02"}"#,
        #"{"end": "2024-12-31 10:00:00", "start_date": "2024-12-30"}"#,
        #"{"start_date": "2024-01-01", "start_date": "x"}"#,
        #"{"start_utc": "2024-03-31 01:30:00", "start_time_utc": "01:30:00", "start": "2024-03-31 03:30:00"}"#,
        #""string""#, "5", "null", "[1]", "true", #"["start_time_utc"]"#, "{}",
    ]

    /// Whole `values` arrays (and what is not one).
    static let arrays: [String?] =
        values.map { "[\($0)]" } + [
            nil, "null", "[]", "{\"value\": \"x\"}", "\"str\"", "5",
            #"[{"value": "a"}, {"value": 1}, {"value": "b"}, {"value": "a"}]"#,
            #"[{"value": {"id": 1, "text": "A"}}, {"value": {"id": "x", "text": null}}, {"value": {"id": 3, "text": "C\"\\{,}"}}]"#,
            #"[null, {"value": "q\"uote\\"}, {"value": ""}, {"value": "NULL"}]"#,
            #"[{"value": {"item_id": 1, "profile_id": 2, "file_id": 3, "user_id": 4}}, {"value": 5}, {"embed": {"embed_id": 6}}]"#,
        ]

    @Test func columnsTypedInSwiftEqualTheColumnFunctions() async throws {
        try await withMirror { mirror in
            var compared = 0
            for vals in Self.arrays {
                let parsed = try vals.map { try JSONReader.value(Array($0.utf8)) }
                for (kind, part) in Self.columnKinds {
                    let swift = Self.fieldTypes.map {
                        ValueTyper.copyText(kind: kind, part: part, fieldType: $0, values: parsed)
                    }
                    let column = AppColumn(fieldID: 1, part: part, name: "c", kind: kind, fieldType: "?")
                    let sqlSide = column.expression(values: "$1::jsonb").replacingOccurrences(
                        of: "E'?'", with: "u.t")
                    let swiftSide = ValueTyper.finalExpression(kind, staged: "(s.v::\(ValueTyper.stagingType(kind)))")
                    let rows = try await mirror.sql(
                        """
                        SELECT u.t, (\(sqlSide))::text AS by_sql, (\(swiftSide))::text AS by_swift
                        FROM unnest($2::text[]) WITH ORDINALITY AS u(t, n)
                        JOIN jsonb_array_elements_text($3::jsonb) WITH ORDINALITY AS s(v, n) ON s.n = u.n
                        ORDER BY u.n
                        """, [vals, Self.fieldTypes, try Self.jsonArray(swift)]
                    ).rows
                    #expect(rows.count == Self.fieldTypes.count)
                    for row in rows {
                        compared += 1
                        #expect(
                            row["by_sql"] == row["by_swift"],
                            "\(kind) \(part) of a \(row["t"] ?? "?") field with values \(vals ?? "NULL")")
                    }
                }
            }
            #expect(compared == Self.arrays.count * Self.columnKinds.count * Self.fieldTypes.count)
        }
    }

    /// An item's `fields` read in Swift (`PageItems.fieldValues`) against `podio.field_values`,
    /// with what the unknown and unreadable findings read: the keys with values.
    @Test func fieldValuesReadInSwiftEqualTheSQLFunction() async throws {
        let items = [
            #"{"item_id": 1, "fields": [{"field_id": 1, "values": [{"value": "a"}]}, {"field_id": 1, "values": [{"value": "b"}]}]}"#,
            #"{"item_id": 2, "fields": [{"field_id": "2", "values": [{"value": 1}]}, {"field_id": 2.0, "values": []}, {"field_id": 2e0, "values": [{"value": 3}]}]}"#,
            #"{"item_id": 3, "fields": [{"field_id": {"x": 1}, "values": [1]}, {"field_id": null, "values": [2]}, {"values": [3]}, 7, [8], {"field_id": true, "values": [4]}]}"#,
            #"{"item_id": 4, "fields": {"field_id": 4, "values": [1]}}"#, #"{"item_id": 5}"#,
            #"{"item_id": 6, "fields": [{"field_id": 6}, {"field_id": 7, "values": null}, {"field_id": 8, "values": {"value": 1}}, {"field_id": "0123", "values": [{}]}, {"field_id": -9, "values": [{}]}]}"#,
            #"{"item_id": 7, "fields": [{"field_id": "ü", "values": [{"value": "x"}]}, {"field_id": "a\"b", "values": [{}]}, {"field_id": 10, "values": [{"value": "y"}]}, {"field_id": 10, "values": null}]}"#,
        ]
        try await withMirror { mirror in
            for item in items {
                let page = try PageItems(body: "{\"items\": [\(item)]}")
                let map = try page.fieldValues(ord: 1)
                let sqlMap = try #require(
                    try await mirror.sql("SELECT podio.field_values($1::jsonb)::text AS m", [item]).first?["m"])
                let expected = try #require(
                    try JSONSerialization.jsonObject(with: Data(sqlMap.utf8), options: [.fragmentsAllowed])
                        as? [String: Any])
                #expect(Set(map.keys) == Set(expected.keys), "keys of \(item)")
                for (key, value) in map {
                    let same = try await mirror.sql(
                        "SELECT podio.field_values($1::jsonb) -> $2::text = $3::jsonb AS same",
                        [item, key, value.jsonbText]
                    ).first?.bool("same")
                    #expect(same == true, "field \(key) of \(item)")
                }
            }
        }
    }

    /// The staged columns of a page's items read in Swift (`PageItems.stageRow`, COPYed into
    /// `pm_page`) against the expressions the page's statement staged them with in SQL (written
    /// out here as they were).
    @Test func stagedColumnsReadInSwiftEqualTheStageStatement() async throws {
        let items = [
            #"{"item_id": 1, "app_item_id": 5, "title": "A", "current_revision": {"revision": 3, "created_on": "2024-01-02 03:04:05"}, "created_on": "2024-01-01 00:00:00", "last_event_on": "2024-01-03 00:00:00", "comment_count": 2, "file_count": "4"}"#,
            #"{"item_id": "2", "app_item_id": "x", "title": null, "revision": 7, "created_on": "2024-02-30 00:00:00", "comment_count": 12.0}"#,
            #"{"item_id": 3, "title": 5, "current_revision": {"revision": "9"}, "revision": 8, "last_event_on": "2024-01-01"}"#,
            #"{"item_id": 4, "title": {"b": [1, "x"], "a": 1.50}, "current_revision": "r", "revision": "x", "app_item_id": 1.2e1, "file_count": -0}"#,
            #"{"item_id": 5, "title": "ünï\ttab\\ \"q\"", "current_revision": {"revision": null, "created_on": "2024-01-01 24:00:00"}, "created_on": 5}"#,
            #"{"item_id": 6, "item_id": 7, "title": "dup", "title": "last", "fields": [{"field_id": 1, "values": []}]}"#,
            #"{"item_id": 8, "current_revision": {"revision": 2, "revision": 4}, "app_item_id": "123456789012345678", "comment_count": "-12"}"#,
            #"{"item_id": 9, "revision": "0012", "current_revision": {"revision": 1.0, "created_on": "2024-01-01 10:00:00", "created_by": {"id": 1}}}"#,
            #"{"item_id": 10, "created_on": "0999-12-31 00:00:00", "last_event_on": "2024-1-01 00:00:00", "title": ""}"#,
        ]
        let body = "{\"items\": [\(items.joined(separator: ",\n"))]}"
        try await withMirror { mirror in
            let bySQL = try await mirror.sql(
                """
                SELECT ord::int::text AS ord, (e->>'item_id')::bigint::text AS item_id,
                       podio.to_bigint(e->>'app_item_id')::text AS app_item_id, e->>'title' AS title,
                       COALESCE(podio.to_bigint(e->'current_revision'->>'revision'), podio.to_bigint(e->>'revision'), 0)::int::text AS revision,
                       podio.to_utc(e->>'created_on')::text AS created_on,
                       podio.to_utc(e->'current_revision'->>'created_on')::text AS last_edit_on,
                       podio.to_utc(e->>'last_event_on')::text AS last_event_on,
                       podio.to_bigint(e->>'comment_count')::int::text AS comment_count,
                       podio.to_bigint(e->>'file_count')::int::text AS file_count, e::text AS raw
                FROM jsonb_array_elements($1::jsonb -> 'items') WITH ORDINALITY AS t(e, ord) ORDER BY ord
                """, [body]
            ).rows
            let bySwift = try await mirror.db.run { db in
                try db.withTransaction { db in
                    let page = try PageItems(body: body)
                    try db.execute(PageSQL.createStage)
                    try db.copyIn(PageSQL.copyStage) { writer in
                        for ord in 1...page.count { try writer.writeRow(page.stageRow(ord: ord)) }
                    }
                    return try db.query(
                        """
                        SELECT ord::text AS ord, item_id::text AS item_id, app_item_id::text AS app_item_id, title,
                               revision::text AS revision, created_on::text AS created_on, last_edit_on::text AS last_edit_on,
                               last_event_on::text AS last_event_on, comment_count::text AS comment_count,
                               file_count::text AS file_count, raw::text AS raw
                        FROM pm_page ORDER BY ord
                        """
                    ).rows
                }
            }
            #expect(bySQL.count == items.count)
            #expect(bySwift.count == items.count)
            let columns = [
                "ord", "item_id", "app_item_id", "title", "revision", "created_on", "last_edit_on", "last_event_on",
                "comment_count", "file_count", "raw",
            ]
            for (sql, swift) in zip(bySQL, bySwift) {
                for column in columns {
                    #expect(sql[column] == swift[column], "\(column) of item \(sql["ord"] ?? "?")")
                }
            }
        }
    }

    /// A page written by `ItemStore.writePage` (typed in Swift, COPYed) holds the same rows as
    /// the table filled from the same items' raw JSON by the SQL functions, and reports as
    /// unreadable exactly the values with a NULL column.
    @Test func aPageWrittenWithCopyEqualsTheTableFilledBySQL() async throws {
        try await withMirror { mirror in
            try await EveryType.loadDefinition(mirror)
            try await mirror.reconcile(EveryType.appID)
            let fields = EveryType.fields.map { "{\"field_id\": \($0.id), \"type\": \"\($0.type)\", \"values\": %@}" }
            var items: [String] = []
            for (index, vals) in Self.arrays.enumerated() {
                let itemFields =
                    fields.map { $0.replacingOccurrences(of: "%@", with: vals ?? "null") }
                    + ["{\"field_id\": 999, \"values\": [{\"value\": 1}]}"]
                items.append(
                    """
                    {"item_id": \(index + 1), "app_item_id": \(index + 1), "title": "Item \(index)",
                     "created_on": "2024-01-01 10:00:00", "current_revision": {"revision": 2, "created_on": "2024-01-02 10:00:00"},
                     "fields": [\(itemFields.joined(separator: ", "))]}
                    """)
            }
            let body = "{\"items\": [\(items.joined(separator: ", "))]}"
            let count = items.count
            let outcome = try await mirror.db.run { db in
                try ItemStore(db: db).writePage(
                    appID: EveryType.appID, runID: 1, body: body, checkpoint: .none, podioTotal: count,
                    dryRun: false, keepHistory: false)
            }
            #expect(outcome.inserted == items.count)
            #expect(outcome.unknownFieldIDs == [999])

            let columns = try await mirror.db.run { db in
                try AppTableCatalog(db: db).loadColumns(appID: EveryType.appID).filter(\.state.isWritten).map(\.column)
            }
            try await mirror.sql("CREATE TABLE public.expected (LIKE podio_apps.leads_clients)")
            try await mirror.sql(
                AppTableRows(db: mirror.db).insertStatement(table: "public.expected", columns: columns),
                [EveryType.appID])
            let differing = try await mirror.count(
                """
                SELECT * FROM ((TABLE podio_apps.leads_clients EXCEPT ALL TABLE public.expected)
                               UNION ALL (TABLE public.expected EXCEPT ALL TABLE podio_apps.leads_clients)) AS d
                """)
            #expect(differing == 0)
            #expect(try await mirror.count("SELECT * FROM public.expected") == items.count)

            // Unreadable: a value column that is NULL for a field whose values are a non-empty array.
            let checks = columns.filter { $0.part == .value && $0.kind != .json }.map { column in
                """
                SELECT e.item_id, \(column.fieldID)::bigint AS field_id FROM public.expected AS e
                JOIN podio.items AS i ON i.item_id = e.item_id
                WHERE e.\(TableNaming.quoteIdentifier(column.name)) IS NULL
                  AND CASE WHEN jsonb_typeof(podio.field_values(i.raw) -> '\(column.fieldID)') = 'array'
                           THEN jsonb_array_length(podio.field_values(i.raw) -> '\(column.fieldID)') > 0 END
                """
            }
            let expected = try await mirror.sql(checks.joined(separator: " UNION ALL ") + " ORDER BY 1, 2").rows
                .map { "\($0.int("item_id") ?? 0)/\($0.int("field_id") ?? 0)" }
            #expect(!expected.isEmpty)
            #expect(outcome.unreadable.map { "\($0.itemID)/\($0.fieldID)" } == expected)
            let types = Dictionary(EveryType.fields.map { ($0.id, $0.type) }, uniquingKeysWith: { a, _ in a })
            #expect(outcome.unreadable.allSatisfy { types[$0.fieldID] == $0.type })
        }
    }

    static func jsonArray(_ texts: [String?]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: texts.map { $0 ?? NSNull() as Any }, options: [])
        return String(decoding: data, as: UTF8.self)
    }
}

extension MirrorDB {
    func count(_ sql: String) async throws -> Int {
        try await self.sql("SELECT count(*) AS n FROM (\(sql)) AS q").first?.int("n") ?? -1
    }
}
