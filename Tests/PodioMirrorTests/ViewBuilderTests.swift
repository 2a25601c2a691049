import Foundation
import LibPQ
import Logging
import Testing
import TestSupport

@testable import PodioMirror

// MARK: - Naming (no database)

@Suite("View naming")
struct ViewNamingTests {
    @Test func snakeCaseLowersAndCollapsesSeparators() {
        #expect(ViewNaming.snakeCase("leads-clients") == "leads_clients")
        #expect(ViewNaming.snakeCase("  Leads &amp; Clients!! ") == "leads_amp_clients")
        #expect(ViewNaming.snakeCase("a\"b\\c'd") == "a_b_c_d")
        #expect(ViewNaming.snakeCase("Café\u{1}\n\tÜber") == "café_über")
        #expect(ViewNaming.snakeCase("Cafe\u{301}") == "café")  // NFC: one scalar, 2 bytes
        #expect(ViewNaming.snakeCase("Cafe\u{301}").utf8.count == 5)
        #expect(ViewNaming.snakeCase("顧客 リスト") == "顧客_リスト")
        #expect(ViewNaming.snakeCase("🚀 --- ") == "")
        #expect(ViewNaming.snakeCase("SELECT") == "select")
    }

    @Test func quoteIdentifierDoublesQuotes() {
        #expect(ViewNaming.quoteIdentifier("order") == "\"order\"")
        #expect(ViewNaming.quoteIdentifier("a\"b") == "\"a\"\"b\"")
        #expect(ViewNaming.quoteIdentifier("\"\"") == "\"\"\"\"\"\"")
        #expect(ViewNaming.quoteIdentifier("back\\slash") == "\"back\\slash\"")
    }

    @Test func truncationEndsOnACharacterBoundary() {
        let e = String(repeating: "é", count: 1_000)
        let cut = ViewNaming.truncateUTF8(e, maxBytes: 63)
        #expect(cut.utf8.count == 62)
        #expect(cut == String(repeating: "é", count: 31))
        #expect(ViewNaming.truncateUTF8("ab_cd", maxBytes: 3) == "ab")
        #expect(ViewNaming.truncateUTF8("short", maxBytes: 63) == "short")
        // One grapheme cluster longer than the limit: cut between scalars.
        let zalgo = "e" + String(repeating: "\u{301}", count: 100)
        let z = ViewNaming.truncateUTF8(zalgo, maxBytes: 63)
        #expect(z.utf8.count <= 63 && z.utf8.count >= 61 && z.unicodeScalars.first == "e")
        #expect(String(decoding: Array(z.utf8), as: UTF8.self) == z)
    }

    @Test func viewNamesFollowRules() {
        let names = ViewNaming.viewNames([
            .init(appID: 30, urlLabel: "leads", name: "Leads"),
            .init(appID: 20, urlLabel: "LEADS", name: "Other"),
            .init(appID: 40, urlLabel: "2024-budget", name: "Budget"),
            .init(appID: 50, urlLabel: nil, name: "Fallback Name"),
            .init(appID: 60, urlLabel: "🚀", name: "🚀"),
            .init(appID: 70, urlLabel: "leads_30", name: "Squatter"),
        ])
        #expect(names[20] == "leads")
        #expect(names[70] == "leads_30")  // its plain name wins
        #expect(names[30] == "leads_30_2")
        #expect(names[40] == "app_2024_budget")
        #expect(names[50] == "fallback_name")
        #expect(names[60] == "app_60")
        // Long names that only differ past the limit stay distinct, within 63 bytes.
        let long = String(repeating: "ü", count: 600)
        let more = ViewNaming.viewNames([
            .init(appID: 1, urlLabel: long + "a", name: nil), .init(appID: 2, urlLabel: long + "b", name: nil),
        ])
        #expect(more[1] == String(repeating: "ü", count: 31))
        #expect(more[2] == String(repeating: "ü", count: 30) + "_2")  // app id 2
        #expect(more.values.allSatisfy { $0.utf8.count <= 63 })
    }

    @Test func columnNamesAvoidFixedColumnsAndCompanions() {
        var namer = ViewNaming.ColumnNamer()
        #expect(namer.claim(base: "title") == "title_2")
        #expect(namer.claim(base: "amount_currency") == "amount_currency")
        #expect(namer.claim(base: "amount", companions: ["_currency"]) == "amount_2")
        #expect(namer.taken.contains("amount_2_currency"))
        let long = String(repeating: "x", count: 1_000)
        let a = namer.claim(base: long, companions: ["_currency"])
        let b = namer.claim(base: long, companions: ["_currency"])
        #expect(a.utf8.count + "_currency".utf8.count <= 63)
        #expect(b.utf8.count + "_currency".utf8.count <= 63)
        #expect(a != b && b.hasSuffix("_2"))
        #expect(ViewNaming.ColumnNamer.baseName(fieldID: 7, externalID: "123-abc", label: nil) == "field_123_abc")
        #expect(ViewNaming.ColumnNamer.baseName(fieldID: 7, externalID: "🚀", label: "Nice label") == "nice_label")
        #expect(ViewNaming.ColumnNamer.baseName(fieldID: 7, externalID: nil, label: "🚀") == "field_7")
    }

    @Test func columnKindsFollowFieldSettings() {
        func kind(_ type: String, multiple: Bool = false, end: String? = nil, time: String? = nil, returns: String? = nil)
            -> ColumnKind
        {
            ColumnKind(
                ViewField(
                    fieldID: 1, externalID: nil, label: nil, type: type, multiple: multiple, endSetting: end,
                    timeSetting: time, returnType: returns))
        }
        #expect(kind("date", end: "disabled", time: "disabled") == .date(end: false))
        #expect(kind("date", end: "enabled", time: "disabled") == .date(end: true))
        #expect(kind("date", end: "required", time: "enabled") == .timestamp(end: true))
        #expect(kind("date") == .timestamp(end: true))  // no settings: an end may exist, so may a time
        #expect(kind("category") == .text)
        #expect(kind("category", multiple: true) == .textArray)
        #expect(kind("calculation") == .numeric)
        #expect(kind("calculation", returns: "date") == .timestamp(end: false))
        #expect(kind("calculation", returns: "text") == .calculationText)
        #expect(kind("separator") == .none)
        #expect(kind("hologram") == .raw)
    }
}

@Suite("View SQL")
struct ViewDefinitionTests {
    func field(_ id: Int, _ type: String, _ externalID: String) -> ViewField {
        ViewField(
            fieldID: id, externalID: externalID, label: nil, type: type, multiple: false, endSetting: "disabled",
            timeSetting: "enabled", returnType: nil)
    }

    @Test func columnsKeepPodioOrderWhileFilterableJoinsComeFirst() {
        let fields = (1...9).map { field($0, "text", "note-\($0)") } + [field(10, "category", "status"), field(11, "tags", "hologram")]
        let definition = ViewDefinition(appID: 5, fields: fields)
        #expect(definition.columns.map(\.name).suffix(3) == ["note_9", "status", "hologram"])
        #expect(definition.joins.count == 10)
        #expect(definition.joins.first?.contains("field_id = 10 ") == true)
        #expect(definition.joins.dropFirst().first?.contains("field_id = 1 ") == true)
        let sql = definition.createStatement(viewName: "my \"app\"")
        #expect(sql.hasPrefix("CREATE VIEW podio_views.\"my \"\"app\"\"\" AS"))
        #expect(sql.hasSuffix("WHERE i.app_id = 5 AND i.deleted_at IS NULL"))
        #expect(sql.contains("jsonb_agg(v.value ORDER BY v.position) FROM podio.item_values AS v WHERE v.item_id = i.item_id AND v.field_id = 11)"))
    }

    @Test func fieldsBeyondPostgreSQLsColumnLimitAreLeftOut() {
        let fields = (1...1_000).map { field($0, "money", "m\($0)") }
        let definition = ViewDefinition(appID: 5, fields: fields)
        #expect(definition.columns.count <= ViewDefinition.maxColumns)
        #expect(definition.omittedFieldIDs.first == 798)
        #expect(definition.omittedFieldIDs.count == 203)
    }
}

// MARK: - Views in a real PostgreSQL

/// A freshly migrated test database and fixtures that write rows the way the engine does.
struct MirrorDB: Sendable {
    let database: TestDatabase
    let db: PGConnection

    static func open() async throws -> MirrorDB {
        let database = try await TestDatabase.create(prefix: "views")
        let db = try await database.connect()
        _ = try await db.run { try SchemaMigrator.migrate($0, logger: TestDatabase.logger) }
        return MirrorDB(database: database, db: db)
    }

    func close() async {
        db.close()
        await database.drop()
    }

    @discardableResult
    func sql(_ text: String, _ parameters: [(any PGEncodable)?] = []) async throws -> PGResult {
        try await db.run { try $0.query(text, parameters) }
    }

    @discardableResult
    func rebuild(_ appID: Int) async throws -> String? {
        try await db.run { try ViewBuilder(db: $0, logger: TestDatabase.logger).rebuild(appID: appID) }
    }

    @discardableResult
    func rebuildAll() async throws -> [String] {
        try await db.run { try ViewBuilder(db: $0, logger: TestDatabase.logger).rebuildAll() }
    }

    func app(_ appID: Int, urlLabel: String?, name: String = "An app") async throws {
        try await sql(
            """
            INSERT INTO podio.apps (app_id, space_id, name, item_name, url_label, status, app_revision, raw)
            VALUES ($1, 1, $2, 'Item', $3, 'active', 1, '{}')
            ON CONFLICT (app_id) DO UPDATE SET name = EXCLUDED.name, url_label = EXCLUDED.url_label
            """, [appID, name, urlLabel])
    }

    /// A field as `MirrorStore.upsertApp` stores it: `config` as received, position = delta.
    func field(
        _ appID: Int, _ fieldID: Int, _ externalID: String?, _ type: String, label: String? = nil,
        position: Int? = nil, settings: String = "{}", status: String = "active"
    ) async throws {
        try await sql(
            """
            INSERT INTO podio.app_fields (field_id, app_id, external_id, label, type, status, position, config)
            VALUES ($1, $2, $3, $4, $5, $6, $7, jsonb_build_object('label', $4::text, 'delta', $7::int, 'settings', $8::jsonb))
            ON CONFLICT (field_id) DO UPDATE SET external_id = EXCLUDED.external_id, label = EXCLUDED.label,
                type = EXCLUDED.type, status = EXCLUDED.status, position = EXCLUDED.position, config = EXCLUDED.config
            """, [fieldID, appID, externalID, label ?? externalID, type, status, position ?? fieldID, settings])
    }

    /// An item and its values, typed by the same `podio.value_*` functions the page writer uses.
    /// `fields` is a JSON array of `{field_id, type, values}` as in Podio's item JSON.
    func item(_ appID: Int, _ itemID: Int, title: String, fields: String, deleted: Bool = false) async throws {
        try await sql(
            """
            INSERT INTO podio.items (item_id, app_id, app_item_id, title, revision, created_on, last_edit_on,
                                     last_event_on, raw, deleted_at)
            VALUES ($1::bigint, $2::bigint, $1::bigint % 1000, $3::text, 1, '2024-01-02 03:04:05+00', '2024-02-03 04:05:06+00',
                    '2024-02-03 04:05:06+00', jsonb_build_object('item_id', $1::bigint, 'fields', $4::jsonb),
                    CASE WHEN $5::boolean THEN now() END)
            """, [itemID, appID, title, fields, deleted])
        try await sql(
            """
            INSERT INTO podio.item_values (item_id, field_id, app_id, position, type, value_text, value_number, value_ref,
                                           value_start, value_end, value_start_date, value_end_date, value_kind, value)
            SELECT $1::bigint, (f ->> 'field_id')::bigint, $2::bigint, (v.pos - 1)::int, f ->> 'type',
                   podio.value_text(f ->> 'type', v.val), podio.value_number(f ->> 'type', v.val),
                   podio.value_ref(f ->> 'type', v.val), podio.value_start(f ->> 'type', v.val),
                   podio.value_end(f ->> 'type', v.val), podio.value_start_date(f ->> 'type', v.val),
                   podio.value_end_date(f ->> 'type', v.val), podio.value_kind(f ->> 'type', v.val), v.val
            FROM jsonb_array_elements($3::jsonb) AS f
            CROSS JOIN LATERAL jsonb_array_elements(f -> 'values') WITH ORDINALITY AS v(val, pos)
            """, [itemID, appID, fields])
    }

    /// Columns of a view with their SQL types, in order.
    func columns(_ view: String) async throws -> [(name: String, type: String)] {
        try await sql(
            """
            SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = format('%I.%I', 'podio_views', $1::text)::regclass AND attnum > 0 AND NOT attisdropped
            ORDER BY attnum
            """, [view]
        ).rows.map { ($0.string("attname") ?? "?", $0.string("type") ?? "?") }
    }

    func viewExists(_ view: String) async throws -> Bool {
        try await sql("SELECT to_regclass(format('%I.%I', 'podio_views', $1::text)) IS NOT NULL AS present", [view])
            .first?.bool("present") ?? false
    }

    func storedViewName(_ appID: Int) async throws -> String? {
        try await sql("SELECT view_name FROM podio.apps WHERE app_id = $1", [appID]).first?.string("view_name")
    }
}

/// Runs `body` with a fresh mirror database, dropped afterwards even when the body fails.
func withMirror(_ body: (MirrorDB) async throws -> Void) async throws {
    let mirror = try await MirrorDB.open()
    do {
        try await body(mirror)
    } catch {
        await mirror.close()
        throw error
    }
    await mirror.close()
}

/// An app with a field of every type, as the simulator and Podio describe them.
enum EveryType {
    static let appID = 1001
    static let fields: [(id: Int, externalID: String, type: String, settings: String)] = [
        (101, "company-name", "text", #"{"format": "html", "size": "small"}"#),
        (102, "amount", "number", #"{"decimals": 4}"#),
        (103, "price", "money", #"{"allowed_currencies": ["EUR", "USD"]}"#),
        (104, "progress", "progress", "{}"),
        (105, "time-spent", "duration", #"{"fields": ["hours", "minutes"]}"#),
        (106, "meeting", "date", #"{"time": "enabled", "end": "enabled", "calendar": true}"#),
        (107, "deadline", "date", #"{"time": "disabled", "end": "disabled"}"#),
        (108, "holiday", "date", #"{"time": "disabled", "end": "required"}"#),
        (109, "status", "category", #"{"multiple": false, "options": [{"id": 1, "text": "Open"}, {"id": 2, "text": "Done"}]}"#),
        (110, "tags", "category", #"{"multiple": true, "options": []}"#),
        (111, "client", "app", #"{"multiple": true, "referenced_apps": []}"#),
        (112, "owner", "contact", #"{"type": "space_users"}"#),
        (113, "email", "email", "{}"),
        (114, "phone", "phone", "{}"),
        (115, "fax", "tel", "{}"),
        (116, "address", "location", "{}"),
        (117, "website", "embed", "{}"),
        (118, "photo", "image", "{}"),
        (119, "attachments", "file", "{}"),
        (120, "total", "calculation", #"{"return_type": "number", "decimals": 4}"#),
        (121, "due", "calculation", #"{"return_type": "date", "time": "enabled"}"#),
        (122, "level", "calculation", #"{"return_type": "text"}"#),
        (123, "hologram", "hologram", "{}"),
        (124, "section", "separator", "{}"),
        (125, "title", "text", "{}"),
        (126, "old-notes", "text", "{}"),  // marked deleted below
    ]

    static let expectedColumns: [(String, String)] = [
        ("item_id", "bigint"), ("app_item_id", "bigint"), ("title", "text"),
        ("created_on", "timestamp with time zone"), ("last_edit_on", "timestamp with time zone"),
        ("company_name", "text"), ("amount", "numeric"), ("price", "numeric"), ("price_currency", "text"),
        ("progress", "integer"), ("time_spent", "interval"),
        ("meeting", "timestamp with time zone"), ("meeting_end", "timestamp with time zone"),
        ("deadline", "date"), ("holiday", "date"), ("holiday_end", "date"),
        ("status", "text"), ("tags", "text[]"), ("client", "bigint[]"), ("owner", "bigint[]"),
        ("email", "text[]"), ("phone", "text[]"), ("fax", "text"), ("address", "text"), ("website", "text"),
        ("photo", "bigint[]"), ("attachments", "bigint[]"), ("total", "numeric"),
        ("due", "timestamp with time zone"), ("level", "text"), ("hologram", "jsonb"), ("title_2", "text"),
    ]

    /// Item 1: a value in every field.
    static let full = """
        [
         {"field_id": 101, "type": "text", "values": [{"value": "<p>Acme & \\"Sons\\"</p>"}]},
         {"field_id": 102, "type": "number", "values": [{"value": "6513.5100"}]},
         {"field_id": 103, "type": "money", "values": [{"value": "541.9870", "currency": "EUR"}]},
         {"field_id": 104, "type": "progress", "values": [{"value": 42}]},
         {"field_id": 105, "type": "duration", "values": [{"value": 93784}]},
         {"field_id": 106, "type": "date", "values": [{
            "start": "2016-06-24 15:00:00", "start_date": "2016-06-24", "start_time": "15:00:00",
            "start_utc": "2016-06-24 19:00:00", "start_date_utc": "2016-06-24", "start_time_utc": "19:00:00",
            "end": "2016-06-30 16:00:00", "end_date": "2016-06-30", "end_time": "16:00:00",
            "end_utc": "2016-06-30 20:00:00", "end_date_utc": "2016-06-30", "end_time_utc": "20:00:00"}]},
         {"field_id": 107, "type": "date", "values": [{
            "start": "2016-06-24 00:00:00", "start_date": "2016-06-24", "start_time": null,
            "start_utc": "2016-06-24", "start_date_utc": "2016-06-24", "start_time_utc": null}]},
         {"field_id": 108, "type": "date", "values": [{
            "start_date": "2016-12-24", "start_time": null, "start_time_utc": null, "start_utc": "2016-12-24",
            "end_date": "2016-12-26", "end_time": null, "end_utc": "2016-12-26"}]},
         {"field_id": 109, "type": "category", "values": [{"value": {"id": 2, "text": "Done", "status": "active"}}]},
         {"field_id": 110, "type": "category", "values": [{"value": {"id": 5, "text": "Hot lead"}}, {"value": {"id": 3, "text": "VIP"}}]},
         {"field_id": 111, "type": "app", "values": [{"value": {"item_id": 331300398, "title": "Acme Ltd"}}, {"value": {"item_id": 331300399, "title": "Beta"}}]},
         {"field_id": 112, "type": "contact", "values": [{"value": {"profile_id": 140798621, "name": "Brian S.", "type": "user"}}]},
         {"field_id": 113, "type": "email", "values": [{"type": "work", "value": "hello@example.com"}, {"type": "other", "value": "info@example.com"}]},
         {"field_id": 114, "type": "phone", "values": [{"type": "mobile", "value": "+19197936102"}]},
         {"field_id": 115, "type": "tel", "values": [{"value": "+4512345678", "uri": "tel:+4512345678"}]},
         {"field_id": 116, "type": "location", "values": [{"value": "Champ de Mars, Paris", "formatted": "Champ de Mars, 5 Avenue Anatole France, 75007 Paris, France", "lat": 48.85}]},
         {"field_id": 117, "type": "embed", "values": [{"embed": {"embed_id": 117018345, "original_url": "https://example.com/x", "resolved_url": "https://example.com/", "url": "https://example.com/"}, "file": null}]},
         {"field_id": 118, "type": "image", "values": [{"value": {"file_id": 195174666, "name": "a1.jpeg"}}]},
         {"field_id": 119, "type": "file", "values": [{"value": {"file_id": 7, "name": "a.pdf"}}, {"value": {"file_id": 8, "name": "b.pdf"}}]},
         {"field_id": 120, "type": "calculation", "values": [{"value": "111.0000"}]},
         {"field_id": 121, "type": "calculation", "values": [{
            "start": "2016-11-11 01:00:00", "start_date": "2016-11-11", "start_time": "01:00:00",
            "start_utc": "2016-11-11 00:00:00", "start_date_utc": "2016-11-11", "start_time_utc": "00:00:00"}]},
         {"field_id": 122, "type": "calculation", "values": [{"value": "Gold"}]},
         {"field_id": 123, "type": "hologram", "values": [{"value": {"x": 1}}, {"value": "two"}]},
         {"field_id": 125, "type": "text", "values": [{"value": "a field called title"}]},
         {"field_id": 126, "type": "text", "values": [{"value": "kept in item_values"}]}
        ]
        """

    /// Item 2: an all-day value in a timed date field, a timed value in an all-day field, nothing else.
    static let sparse = """
        [
         {"field_id": 106, "type": "date", "values": [{"start": "2020-02-29", "start_date": "2020-02-29",
            "start_time": null, "start_utc": "2020-02-29", "start_date_utc": "2020-02-29", "start_time_utc": null}]},
         {"field_id": 107, "type": "date", "values": [{"start_utc": "2020-03-01 23:30:00", "start_time_utc": "23:30:00",
            "start_date_utc": "2020-03-01", "start_date": "2020-03-02", "start_time": "00:30:00"}]}
        ]
        """

    static func load(_ mirror: MirrorDB) async throws {
        try await mirror.app(appID, urlLabel: "leads-clients", name: "Leads & Clients")
        for (offset, field) in fields.enumerated() {
            try await mirror.field(
                appID, field.id, field.externalID, field.type, label: field.externalID.capitalized, position: offset,
                settings: field.settings, status: field.externalID == "old-notes" ? "deleted" : "active")
        }
        try await mirror.item(appID, 1, title: "Full", fields: full)
        try await mirror.item(appID, 2, title: "Sparse", fields: sparse)
        try await mirror.item(appID, 3, title: "Gone", fields: full, deleted: true)
    }
}

@Suite("Typed views in PostgreSQL")
struct ViewBuilderTests {
    @Test func everyFieldTypeGetsItsSQLType() async throws {
        try await withMirror { mirror in
            try await EveryType.load(mirror)
            let name = try await mirror.rebuild(EveryType.appID)
            #expect(name == "leads_clients")
            #expect(try await mirror.storedViewName(EveryType.appID) == "leads_clients")
            let columns = try await mirror.columns("leads_clients")
            #expect(columns.map(\.name) == EveryType.expectedColumns.map(\.0))
            #expect(columns.map(\.type) == EveryType.expectedColumns.map(\.1))
            for (got, want) in zip(columns, EveryType.expectedColumns) where got.type != want.1 {
                Issue.record("column \(got.name): \(got.type), expected \(want.1)")
            }
        }
    }

    @Test func valuesComeBackExactlyAndDeletedItemsStayOut() async throws {
        try await withMirror { mirror in
            try await EveryType.load(mirror)
            try await mirror.rebuild(EveryType.appID)
            let rows = try await mirror.sql("SELECT * FROM podio_views.leads_clients ORDER BY item_id").rows
            #expect(rows.compactMap { $0.int("item_id") } == [1, 2])
            let full = try #require(rows.first)
            let expected: [String: String?] = [
                "item_id": "1", "app_item_id": "1", "title": "Full",
                "created_on": "2024-01-02 03:04:05+00", "last_edit_on": "2024-02-03 04:05:06+00",
                "company_name": "<p>Acme & \"Sons\"</p>", "amount": "6513.5100",
                "price": "541.9870", "price_currency": "EUR", "progress": "42", "time_spent": "26:03:04",
                "meeting": "2016-06-24 19:00:00+00", "meeting_end": "2016-06-30 20:00:00+00",
                "deadline": "2016-06-24", "holiday": "2016-12-24", "holiday_end": "2016-12-26",
                "status": "Done", "tags": "{\"Hot lead\",VIP}", "client": "{331300398,331300399}",
                "owner": "{140798621}", "email": "{hello@example.com,info@example.com}", "phone": "{+19197936102}",
                "fax": "+4512345678", "address": "Champ de Mars, 5 Avenue Anatole France, 75007 Paris, France",
                "website": "https://example.com/", "photo": "{195174666}", "attachments": "{7,8}",
                "total": "111.0000", "due": "2016-11-11 00:00:00+00", "level": "Gold",
                "hologram": #"[{"value": {"x": 1}}, {"value": "two"}]"#, "title_2": "a field called title",
            ]
            for (column, value) in expected {
                #expect(full[column] == value, "column \(column)")
            }
            let sparse = try #require(rows.last)
            #expect(sparse.string("meeting") == "2020-02-29 00:00:00+00")  // all-day in a timed field: midnight UTC
            #expect(sparse.string("meeting_end") == nil)
            #expect(sparse.string("deadline") == "2020-03-01")  // timed in an all-day field: its UTC date
            for column in ["amount", "price", "price_currency", "progress", "tags", "client", "email", "hologram", "title_2"] {
                #expect(sparse[column] == nil, "column \(column) of an item without values")
            }
            // Exact arithmetic and typed comparisons.
            let sums = try #require(
                try await mirror.sql(
                    """
                    SELECT sum(amount) + sum(price) AS s, bool_and('VIP' = ANY (tags)) AS vip,
                           bool_and(331300399 = ANY (client)) AS ref, max(time_spent) > interval '1 day' AS long
                    FROM podio_views.leads_clients WHERE status = 'Done'
                    """
                ).first)
            #expect(sums.string("s") == "7055.4970")
            #expect(sums.bool("vip") == true && sums.bool("ref") == true && sums.bool("long") == true)
        }
    }

    @Test func viewsFollowAddedAndDeletedFields() async throws {
        try await withMirror { mirror in
            try await EveryType.load(mirror)
            try await mirror.rebuild(EveryType.appID)
            try await mirror.field(EveryType.appID, 130, "priority", "number", position: 1)
            try await mirror.field(EveryType.appID, 102, "amount", "number", position: 1, status: "deleted")
            try await mirror.rebuild(EveryType.appID)
            let names = try await mirror.columns("leads_clients").map(\.name)
            #expect(names.contains("priority"))
            #expect(names.firstIndex(of: "priority") == 6)  // position 1, after company_name
            #expect(!names.contains("amount"))
            let kept = try await mirror.sql("SELECT value_number::text AS n FROM podio.item_values WHERE field_id = 102 ORDER BY item_id")
            #expect(kept.rows.map { $0.string("n") } == ["6513.5100", "6513.5100"])
            // A renamed external id renames the column.
            try await mirror.field(EveryType.appID, 130, "urgency", "number", position: 1)
            try await mirror.rebuild(EveryType.appID)
            let renamed = try await mirror.columns("leads_clients").map(\.name)
            #expect(renamed.contains("urgency") && !renamed.contains("priority"))
        }
    }

    @Test func hostileNamesWork() async throws {
        let thousand = String(repeating: "é", count: 1_000)
        let hostileLabel = "Select \"quoted\" \\ back'; DROP TABLE podio.items; -- 🚀\u{1}\n" + thousand
        let externalIDs: [String?] = [
            "select", "order", "a\"b\\c", "naïve ü", "\u{1}\u{7}\n\tctl", thousand, String(repeating: "x", count: 999) + "1",
            String(repeating: "x", count: 999) + "2", "title", "item-id", "123abc", "🚀", nil, "Robert'); DROP TABLE x;--",
        ]
        try await withMirror { mirror in
            try await mirror.app(7, urlLabel: hostileLabel, name: hostileLabel)
            for (offset, externalID) in externalIDs.enumerated() {
                let type = offset % 2 == 0 ? "money" : "text"
                try await mirror.field(7, 700 + offset, externalID, type, label: externalID.map { "Label \($0)" })
            }
            let values = externalIDs.indices.map { offset in
                offset % 2 == 0
                    ? #"{"field_id": \#(700 + offset), "type": "money", "values": [{"value": "\#(offset).5000", "currency": "DKK"}]}"#
                    : #"{"field_id": \#(700 + offset), "type": "text", "values": [{"value": "v\#(offset)"}]}"#
            }
            try await mirror.item(7, 70, title: "'; --", fields: "[" + values.joined(separator: ",") + "]")
            let name = try #require(try await mirror.rebuild(7))
            #expect(name == "select_quoted_back_drop_table_podio_items_" + String(repeating: "é", count: 10))
            #expect(name.utf8.count <= 63)
            #expect(try await mirror.viewExists(name))
            let columns = try await mirror.columns(name).map(\.name)
            #expect(Set(columns).count == columns.count)
            #expect(columns.count == 5 + externalIDs.count + externalIDs.indices.filter { $0 % 2 == 0 }.count)
            #expect(columns.allSatisfy { $0.utf8.count <= 63 && !$0.isEmpty })
            #expect(Array(columns.prefix(5)) == ViewNaming.fixedColumns)
            for expected in [
                "select", "select_currency", "order", "a_b_c", "a_b_c_currency", "naïve_ü", "ctl", "ctl_currency",
                "title_2", "item_id_2", "field_123abc", "field_123abc_currency", "label", "field_712", "field_712_currency",
                "robert_drop_table_x",
            ] {
                #expect(columns.contains(expected), "column \(expected) in \(columns)")
            }
            // Every value is readable through its quoted name.
            let row = try #require(
                try await mirror.sql(
                    "SELECT \"select\", \"select_currency\", \"order\", \"naïve_ü\", \"title\", \"title_2\" FROM podio_views."
                        + ViewNaming.quoteIdentifier(name)
                ).first)
            #expect(row.string("select") == "0.5000" && row.string("select_currency") == "DKK")
            #expect(row.string("order") == "v1" && row.string("naïve_ü") == "v3")
            #expect(row.string("title") == "'; --" && row.string("title_2") == "8.5000")
            #expect(try await mirror.sql("SELECT count(*) AS n FROM podio.items").first?.int("n") == 1)
        }
    }

    @Test func collidingAppsGetDistinctNames() async throws {
        try await withMirror { mirror in
            try await mirror.app(300, urlLabel: "leads", name: "Leads")
            try await mirror.field(300, 3001, "amount", "number")
            #expect(try await mirror.rebuild(300) == "leads")
            // A lower app id with the same name takes the plain name; the other view moves.
            try await mirror.app(200, urlLabel: "LEADS!", name: "Leads too")
            try await mirror.field(200, 2001, "status", "category")
            #expect(try await mirror.rebuild(200) == "leads")
            #expect(try await mirror.storedViewName(300) == "leads_300")
            #expect(try await mirror.columns("leads").map(\.name).last == "status")
            #expect(try await mirror.columns("leads_300").map(\.name).last == "amount")
            #expect(try await mirror.rebuildAll() == ["leads", "leads_300"])
        }
    }

    @Test func renamedAndRemovedAppsLeaveNoStaleViews() async throws {
        try await withMirror { mirror in
            try await mirror.app(1, urlLabel: "old-name")
            try await mirror.app(2, urlLabel: "other")
            #expect(try await mirror.rebuildAll() == ["old_name", "other"])
            try await mirror.app(1, urlLabel: "new-name")
            #expect(try await mirror.rebuild(1) == "new_name")
            #expect(try await !mirror.viewExists("old_name"))
            #expect(try await mirror.viewExists("new_name"))
            // An app that left the mirror: its view goes with the next rebuild.
            try await mirror.sql("DELETE FROM podio.apps WHERE app_id = 2")
            #expect(try await mirror.rebuild(2) == nil)
            #expect(try await !mirror.viewExists("other"))
            try await mirror.sql("DELETE FROM podio.apps WHERE app_id = 1")
            #expect(try await mirror.rebuildAll() == [])
            #expect(try await !mirror.viewExists("new_name"))
        }
    }

    @Test func dependentObjectsFailTheRebuildClearlyAndLeaveTheViewInPlace() async throws {
        try await withMirror { mirror in
            try await mirror.app(5, urlLabel: "crm")
            try await mirror.field(5, 501, "amount", "number")
            try await mirror.rebuild(5)
            try await mirror.sql("CREATE VIEW public.mine AS SELECT amount FROM podio_views.crm")
            try await mirror.field(5, 502, "extra", "text")
            await #expect(throws: MirrorError.self) { try await mirror.rebuild(5) }
            #expect(try await mirror.columns("crm").map(\.name).last == "amount")
            #expect(try await mirror.sql("SELECT count(*) AS n FROM public.mine").first?.int("n") == 0)
        }
    }

    @Test func filtersUseTheValueIndexesAndUnusedColumnsCostNothing() async throws {
        try await withMirror { mirror in
            try await mirror.app(9, urlLabel: "big")
            try await mirror.field(9, 901, "amount", "number")
            try await mirror.field(9, 902, "status", "category")
            try await mirror.field(9, 903, "tags", "category", settings: #"{"multiple": true}"#)
            try await mirror.field(9, 904, "due", "date", settings: #"{"time": "enabled", "end": "disabled"}"#)
            try await mirror.sql(
                """
                INSERT INTO podio.items (item_id, app_id, app_item_id, title, revision, raw)
                SELECT g, 9, g, 'item ' || g, 1, '{}' FROM generate_series(1, 20000) AS g;
                """)
            try await mirror.sql(
                """
                INSERT INTO podio.item_values (item_id, field_id, app_id, position, type, value_number, value)
                SELECT g, 901, 9, 0, 'number', (g % 1000)::numeric, '{}' FROM generate_series(1, 20000) AS g
                """)
            try await mirror.sql(
                """
                INSERT INTO podio.item_values (item_id, field_id, app_id, position, type, value_text, value_ref, value)
                SELECT g, 902, 9, 0, 'category', CASE WHEN g % 500 = 0 THEN 'Done' ELSE 'Open' END, 1, '{}'
                FROM generate_series(1, 20000) AS g
                """)
            // Dates: timed values, and every tenth one all-day (time is optional in this field).
            try await mirror.sql(
                """
                INSERT INTO podio.item_values (item_id, field_id, app_id, position, type, value_start, value_start_date, value)
                SELECT g, 904, 9, 0, 'date', CASE WHEN g % 10 <> 0 THEN t END, (t AT TIME ZONE 'UTC')::date, '{}'
                FROM generate_series(1, 20000) AS g, LATERAL (SELECT timestamptz '2024-01-01 10:30:00+00' + g * interval '1 hour' AS t) AS x
                """)
            try await mirror.sql("ANALYZE podio.items")
            try await mirror.sql("ANALYZE podio.item_values")
            try await mirror.rebuild(9)
            func plan(_ query: String) async throws -> String {
                try await mirror.sql("EXPLAIN " + query).rows.compactMap { $0[0] }.joined(separator: "\n")
            }
            let byAmount = try await plan("SELECT * FROM podio_views.big WHERE amount > 995")
            #expect(byAmount.contains("item_values_field_number_idx"), "\(byAmount)")
            let byStatus = try await plan("SELECT item_id, title FROM podio_views.big WHERE status = 'Done'")
            #expect(byStatus.contains("item_values_field_text_idx"), "\(byStatus)")
            let byDate = try await plan(
                "SELECT item_id, due FROM podio_views.big WHERE due >= '2024-06-01' AND due < '2024-06-02'")
            #expect(byDate.contains("item_values_field_moment_idx"), "\(byDate)")
            let days = try await mirror.sql(
                "SELECT count(*) AS n, min(due) AS first FROM podio_views.big WHERE due >= '2024-06-01' AND due < '2024-06-02'"
            ).first
            #expect(days?.int("n") == 24)
            #expect(days?.string("first") == "2024-06-01 00:00:00+00")  // an all-day value: midnight UTC
            // Columns a query does not read are not joined at all.
            let bare = try await plan("SELECT item_id, title FROM podio_views.big")
            #expect(!bare.contains("item_values"), "\(bare)")
            let count = try await mirror.sql("SELECT count(*) AS n FROM podio_views.big WHERE amount > 995").first?.int("n")
            #expect(count == 80)
        }
    }
}
