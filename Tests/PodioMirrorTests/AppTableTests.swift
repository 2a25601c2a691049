import Foundation
import LibPQ
import Logging
import TestSupport
import Testing

@testable import PodioMirror

// MARK: - Naming (no database)

@Suite("Table naming")
struct TableNamingTests {
    @Test func snakeCaseLowersAndCollapsesSeparators() {
        #expect(TableNaming.snakeCase("leads-clients") == "leads_clients")
        #expect(TableNaming.snakeCase("  Leads &amp; Clients!! ") == "leads_amp_clients")
        #expect(TableNaming.snakeCase("a\"b\\c'd") == "a_b_c_d")
        #expect(TableNaming.snakeCase("Café\u{1}\n\tÜber") == "café_über")
        #expect(TableNaming.snakeCase("Cafe\u{301}") == "café")  // NFC: one scalar, 2 bytes
        #expect(TableNaming.snakeCase("Cafe\u{301}").utf8.count == 5)
        #expect(TableNaming.snakeCase("顧客 リスト") == "顧客_リスト")
        #expect(TableNaming.snakeCase("🚀 --- ") == "")
        #expect(TableNaming.snakeCase("SELECT") == "select")
    }

    @Test func quoteIdentifierDoublesQuotes() {
        #expect(TableNaming.quoteIdentifier("order") == "\"order\"")
        #expect(TableNaming.quoteIdentifier("a\"b") == "\"a\"\"b\"")
        #expect(TableNaming.quoteIdentifier("\"\"") == "\"\"\"\"\"\"")
        #expect(TableNaming.quoteIdentifier("back\\slash") == "\"back\\slash\"")
    }

    @Test func quoteLiteralSurvivesQuotesAndBackslashes() {
        #expect(TableNaming.quoteLiteral("text") == "E'text'")
        #expect(TableNaming.quoteLiteral("a'b\\c") == "E'a''b\\\\c'")
    }

    @Test func truncationEndsOnACharacterBoundary() {
        let e = String(repeating: "é", count: 1_000)
        let cut = TableNaming.truncateUTF8(e, maxBytes: 63)
        #expect(cut.utf8.count == 62)
        #expect(cut == String(repeating: "é", count: 31))
        #expect(TableNaming.truncateUTF8("ab_cd", maxBytes: 3) == "ab")
        #expect(TableNaming.truncateUTF8("short", maxBytes: 63) == "short")
        // One grapheme cluster longer than the limit: cut between scalars.
        let zalgo = "e" + String(repeating: "\u{301}", count: 100)
        let z = TableNaming.truncateUTF8(zalgo, maxBytes: 63)
        #expect(z.utf8.count <= 63 && z.utf8.count >= 61 && z.unicodeScalars.first == "e")
        #expect(String(decoding: Array(z.utf8), as: UTF8.self) == z)
    }

    @Test func tableNamesFollowRules() {
        let names = TableNaming.tableNames([
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
        let more = TableNaming.tableNames([
            .init(appID: 1, urlLabel: long + "a", name: nil), .init(appID: 2, urlLabel: long + "b", name: nil),
        ])
        #expect(more[1] == String(repeating: "ü", count: 31))
        #expect(more[2] == String(repeating: "ü", count: 30) + "_2")  // app id 2
        #expect(more.values.allSatisfy { $0.utf8.count <= 63 })
    }

    @Test func columnNamesAvoidFixedColumnsAndCompanions() {
        var namer = TableNaming.ColumnNamer()
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
        #expect(TableNaming.ColumnNamer.baseName(fieldID: 7, externalID: "123-abc", label: nil) == "field_123_abc")
        #expect(TableNaming.ColumnNamer.baseName(fieldID: 7, externalID: "🚀", label: "Nice label") == "nice_label")
        #expect(TableNaming.ColumnNamer.baseName(fieldID: 7, externalID: nil, label: "🚀") == "field_7")
    }

    @Test func columnKindsFollowFieldSettings() {
        func kind(
            _ type: String, multiple: Bool = false, end: String? = nil, time: String? = nil, returns: String? = nil
        )
            -> ColumnKind
        {
            ColumnKind(
                AppField(
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
        #expect(kind("hologram") == .json)
        // The legacy types: typed where their shape is known, JSON otherwise.
        #expect(kind("question") == .text)
        #expect(kind("question", multiple: true) == .textArray)
        #expect(kind("state") == .text)
        #expect(kind("tag") == .textArray)
        #expect(kind("member") == .idArray)
        #expect(kind("video") == .json)
        #expect(kind("media") == .json)
    }
}

@Suite("App table layout")
struct AppTableLayoutTests {
    func field(_ id: Int, _ type: String, _ externalID: String) -> AppField {
        AppField(
            fieldID: id, externalID: externalID, label: nil, type: type, endSetting: "disabled", timeSetting: "enabled")
    }

    @Test func columnsFollowPodioOrderWithCompanionsAfterTheirField() {
        let fields = [
            field(3, "money", "price"), field(1, "text", "title"), field(2, "separator", "line"),
            field(4, "date", "due"),
        ]
        let layout = AppTableLayout(fields: fields)
        #expect(layout.columns.map(\.name) == ["price", "price_currency", "title_2", "due"])
        #expect(layout.columns.map(\.part) == [.value, .currency, .value, .value])
        #expect(layout.columns.map(\.kind) == [.numeric, .currency, .text, .moment])
    }

    @Test func keptColumnNamesAreNotHandedOutAgain() {
        let layout = AppTableLayout(fields: [field(1, "text", "status")], reserved: ["status"])
        #expect(layout.columns.map(\.name) == ["status_2"])
    }

    @Test func fieldsBeyondPostgreSQLsColumnLimitAreLeftOut() {
        let fields = (1...1_000).map { field($0, "money", "m\($0)") }
        let layout = AppTableLayout(fields: fields)
        #expect(layout.columns.count + TableNaming.fixedColumns.count <= AppTableLayout.maxColumns)
        #expect(layout.omittedFieldIDs.first == 697)
        #expect(layout.omittedFieldIDs.count == 304)
    }
}

// MARK: - App tables in a real PostgreSQL

/// A freshly migrated test database and fixtures that store apps, fields and items the way the
/// engine does; the app tables are then built from them by `AppTableStore` alone.
struct MirrorDB: Sendable {
    let database: TestDatabase
    let db: PGConnection

    static func open(migrate: Bool = true) async throws -> MirrorDB {
        let database = try await TestDatabase.create(prefix: "tables")
        let db = try await database.connect()
        if migrate { _ = try await db.run { try SchemaMigrator.migrate($0, logger: TestDatabase.logger) } }
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
    func reconcile(_ appID: Int) async throws -> AppTableStore.Report {
        try await db.run { db in
            try db.withTransaction { try AppTableStore(db: $0, logger: TestDatabase.logger).reconcile(appID: appID) }
        }
    }

    func app(_ appID: Int, urlLabel: String?, name: String = "An app") async throws {
        try await sql(
            """
            INSERT INTO podio.apps (app_id, space_id, name, item_name, url_label, status, app_revision, raw)
            VALUES ($1, 1, $2, 'Item', $3, 'active', 1, '{}')
            ON CONFLICT (app_id) DO UPDATE SET name = EXCLUDED.name, url_label = EXCLUDED.url_label
            """, [appID, name, urlLabel])
    }

    /// A field as `ItemStore.upsertApp` stores it: `config` as received, position = delta.
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

    /// An item in `podio.items` only; `fields` is a JSON array of `{field_id, type, values}` as in
    /// Podio's item JSON.
    func item(_ appID: Int, _ itemID: Int, title: String, fields: String, deleted: Bool = false) async throws {
        try await sql(
            """
            INSERT INTO podio.items (item_id, app_id, app_item_id, title, revision, created_on, last_edit_on,
                                     last_event_on, raw, deleted_at)
            VALUES ($1::bigint, $2::bigint, $1::bigint % 1000, $3::text, 1, '2024-01-02 03:04:05+00', '2024-02-03 04:05:06+00',
                    '2024-02-03 04:05:06+00', jsonb_build_object('item_id', $1::bigint, 'fields', $4::jsonb),
                    CASE WHEN $5::boolean THEN now() END)
            """, [itemID, appID, title, fields, deleted])
    }

    /// Columns of an app table with their SQL types, in order.
    func columns(_ table: String) async throws -> [(name: String, type: String)] {
        try await sql(
            """
            SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = format('%I.%I', 'podio_apps', $1::text)::regclass AND attnum > 0 AND NOT attisdropped
            ORDER BY attnum
            """, [table]
        ).rows.map { ($0.string("attname") ?? "?", $0.string("type") ?? "?") }
    }

    func tableExists(_ table: String) async throws -> Bool {
        try await sql("SELECT to_regclass(format('%I.%I', 'podio_apps', $1::text)) IS NOT NULL AS present", [table])
            .first?.bool("present") ?? false
    }

    func storedTableName(_ appID: Int) async throws -> String? {
        try await sql("SELECT table_name FROM podio.apps WHERE app_id = $1", [appID]).first?.string("table_name")
    }

    func indexExists(_ name: String) async throws -> Bool {
        try await sql("SELECT count(*) AS n FROM pg_indexes WHERE indexname = $1", [name]).first?.int("n") == 1
    }
}

/// Runs `body` with a fresh mirror database, dropped afterwards even when the body fails
/// (holding a slot of the suite's gate, `TestSlots`).
func withMirror(migrate: Bool = true, _ body: (MirrorDB) async throws -> Void) async throws {
    try await TestSlots.with {
        let mirror = try await MirrorDB.open(migrate: migrate)
        do {
            try await body(mirror)
        } catch {
            await mirror.close()
            throw error
        }
        await mirror.close()
    }
}

/// An app with a field of every type, as the simulator and Podio describe them, and the typed
/// values its table must hold: written out by hand, not computed by the code under test.
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
        (
            109, "status", "category",
            #"{"multiple": false, "options": [{"id": 1, "text": "Open"}, {"id": 2, "text": "Done"}]}"#
        ),
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
        // The legacy types old apps still carry.
        (
            127, "approved", "question",
            #"{"multiple": false, "options": [{"id": 1, "text": "Yes"}, {"id": 2, "text": "No"}]}"#
        ),
        (128, "reasons", "question", #"{"multiple": true, "options": []}"#),
        (129, "stage", "state", #"{"allowed_values": ["Not started", "In progress", "Done"]}"#),
        (130, "organization", "tag", "{}"),
        (131, "assignee", "member", "{}"),
        (132, "clip", "video", "{}"),
    ]

    static let expectedColumns: [(String, String)] = [
        ("item_id", "bigint"), ("app_item_id", "bigint"), ("title", "text"), ("revision", "integer"),
        ("created_on", "timestamp with time zone"), ("last_edit_on", "timestamp with time zone"),
        ("last_event_on", "timestamp with time zone"),
        ("company_name", "text"), ("amount", "numeric"), ("price", "numeric"), ("price_currency", "text"),
        ("progress", "integer"), ("time_spent", "interval"),
        ("meeting", "timestamp with time zone"), ("meeting_end", "timestamp with time zone"),
        ("deadline", "date"), ("holiday", "date"), ("holiday_end", "date"),
        ("status", "text"), ("tags", "text[]"), ("client", "bigint[]"), ("owner", "bigint[]"),
        ("email", "text[]"), ("phone", "text[]"), ("fax", "text"), ("address", "text"), ("website", "text"),
        ("photo", "bigint[]"), ("attachments", "bigint[]"), ("total", "numeric"),
        ("due", "timestamp with time zone"), ("level", "text"), ("hologram", "jsonb"), ("title_2", "text"),
        ("approved", "text"), ("reasons", "text[]"), ("stage", "text"), ("organization", "text[]"),
        ("assignee", "bigint[]"), ("clip", "jsonb"),
    ]

    /// The row of item 1 (`full`), as PostgreSQL prints each column.
    static let expectedFullRow: [String: String?] = [
        "item_id": "1", "app_item_id": "1", "title": "Full", "revision": "1",
        "created_on": "2024-01-02 03:04:05+00", "last_edit_on": "2024-02-03 04:05:06+00",
        "last_event_on": "2024-02-03 04:05:06+00",
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
        "approved": "Yes", "reasons": "{Cost,\"Time ⏱\"}", "stage": "In progress",
        "organization": "{Acme,\"O'Brien & Co\"}",
        "assignee": "{1000101,1000102}", "clip": #"[{"value": 500000001}]"#,
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
         {"field_id": 126, "type": "text", "values": [{"value": "still in the raw JSON"}]},
         {"field_id": 127, "type": "question", "values": [{"value": {"id": 1, "text": "Yes", "status": "active", "color": "DCEBD8"}}]},
         {"field_id": 128, "type": "question", "values": [{"value": {"id": 4, "text": "Cost"}}, {"value": {"id": 5, "text": "Time ⏱"}}]},
         {"field_id": 129, "type": "state", "values": [{"value": "In progress"}]},
         {"field_id": 130, "type": "tag", "values": [{"value": "Acme"}, {"value": "O'Brien & Co"}]},
         {"field_id": 131, "type": "member", "values": [{"value": 1000101}, {"value": {"user_id": 1000102, "name": "Søren K."}}]},
         {"field_id": 132, "type": "video", "values": [{"value": 500000001}]}
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

    static func loadDefinition(_ mirror: MirrorDB) async throws {
        try await mirror.app(appID, urlLabel: "leads-clients", name: "Leads & Clients")
        for (offset, field) in fields.enumerated() {
            try await mirror.field(
                appID, field.id, field.externalID, field.type, label: field.externalID.capitalized, position: offset,
                settings: field.settings, status: field.externalID == "old-notes" ? "deleted" : "active")
        }
    }

    static func loadItems(_ mirror: MirrorDB) async throws {
        try await mirror.item(appID, 1, title: "Full", fields: full)
        try await mirror.item(appID, 2, title: "Sparse", fields: sparse)
        try await mirror.item(appID, 3, title: "Gone", fields: full, deleted: true)
    }

    static func load(_ mirror: MirrorDB) async throws {
        try await loadDefinition(mirror)
        try await loadItems(mirror)
    }

    /// Checks the table's rows against the values written out above.
    static func expectRows(_ mirror: MirrorDB, table: String = "leads_clients") async throws {
        let rows = try await mirror.sql(
            "SELECT * FROM podio_apps.\(TableNaming.quoteIdentifier(table)) ORDER BY item_id"
        ).rows
        #expect(rows.compactMap { $0.int("item_id") } == [1, 2])
        let full = try #require(rows.first)
        for (column, value) in expectedFullRow {
            #expect(full[column] == value, "column \(column)")
        }
        let sparse = try #require(rows.last)
        #expect(sparse.string("meeting") == "2020-02-29 00:00:00+00")  // all-day in a timed field: midnight UTC
        #expect(sparse.string("meeting_end") == nil)
        #expect(sparse.string("deadline") == "2020-03-01")  // timed in an all-day field: its UTC date
        for column in [
            "amount", "price", "price_currency", "progress", "tags", "client", "email", "hologram", "title_2",
            "approved",
            "reasons", "stage", "organization", "assignee", "clip",
        ] {
            #expect(sparse[column] == nil, "column \(column) of an item without values")
        }
    }
}

@Suite("App tables in PostgreSQL")
struct AppTableTests {
    @Test func everyFieldTypeGetsItsSQLType() async throws {
        try await withMirror { mirror in
            try await EveryType.load(mirror)
            let report = try await mirror.reconcile(EveryType.appID)
            #expect(report.table == "leads_clients" && report.created)
            #expect(report.filledRows == 2)
            #expect(try await mirror.storedTableName(EveryType.appID) == "leads_clients")
            let columns = try await mirror.columns("leads_clients")
            #expect(columns.map(\.name) == EveryType.expectedColumns.map(\.0))
            for (got, want) in zip(columns, EveryType.expectedColumns) where got.type != want.1 {
                Issue.record("column \(got.name): \(got.type), expected \(want.1)")
            }
        }
    }

    @Test func valuesComeBackExactlyAndDeletedItemsStayOut() async throws {
        try await withMirror { mirror in
            try await EveryType.load(mirror)
            try await mirror.reconcile(EveryType.appID)
            try await EveryType.expectRows(mirror)
            // Exact arithmetic and typed comparisons.
            let sums = try #require(
                try await mirror.sql(
                    """
                    SELECT sum(amount) + sum(price) AS s, bool_and('VIP' = ANY (tags)) AS vip,
                           bool_and(331300399 = ANY (client)) AS ref, max(time_spent) > interval '1 day' AS long
                    FROM podio_apps.leads_clients WHERE status = 'Done'
                    """
                ).first)
            #expect(sums.string("s") == "7055.4970")
            #expect(sums.bool("vip") == true && sums.bool("ref") == true && sums.bool("long") == true)
            // Reconciling again changes nothing.
            let again = try await mirror.reconcile(EveryType.appID)
            #expect(!again.changed && again.warnings.isEmpty && again.filledRows == 0)
        }
    }

    /// Every field change of Podio, followed from the stored definition and the raw JSON alone,
    /// with a user's view and indexes on the table.
    @Test func fieldChangesFollowAndUsersObjectsSurvive() async throws {
        try await withMirror { mirror in
            try await EveryType.load(mirror)
            try await mirror.reconcile(EveryType.appID)
            try await mirror.sql("CREATE INDEX my_status_idx ON podio_apps.leads_clients (status)")
            try await mirror.sql("CREATE INDEX my_company_idx ON podio_apps.leads_clients (company_name)")
            try await mirror.sql(
                "CREATE VIEW public.mine AS SELECT item_id, amount, status FROM podio_apps.leads_clients")
            try await mirror.sql("GRANT SELECT ON podio_apps.leads_clients TO PUBLIC")
            try await mirror.sql("COMMENT ON COLUMN podio_apps.leads_clients.status IS 'mine'")

            // A new field (here one that comes back): a column filled from the raw JSON.
            try await mirror.field(EveryType.appID, 126, "old-notes", "text", position: 1)
            var report = try await mirror.reconcile(EveryType.appID)
            #expect(report.added == ["old_notes"] && report.filledRows == 2)
            let notes = try await mirror.sql("SELECT old_notes FROM podio_apps.leads_clients ORDER BY item_id").rows
            #expect(notes.map { $0.string("old_notes") } == ["still in the raw JSON", nil])

            // A renamed external id: the column is renamed, its index follows.
            try await mirror.field(EveryType.appID, 101, "firm", "text", position: 0)
            report = try await mirror.reconcile(EveryType.appID)
            #expect(report.renamed == ["company_name → firm"])
            #expect(
                try await mirror.sql("SELECT firm FROM podio_apps.leads_clients WHERE item_id = 1").first?.string(
                    "firm")
                    == "<p>Acme & \"Sons\"</p>")
            #expect(try await mirror.indexExists("my_company_idx"))

            // A deleted field the user's view uses: kept and said once; one nobody uses: dropped.
            try await mirror.field(EveryType.appID, 102, "amount", "number", status: "deleted")
            try await mirror.field(EveryType.appID, 104, "progress", "progress", status: "deleted")
            report = try await mirror.reconcile(EveryType.appID)
            #expect(report.dropped == ["progress"])
            #expect(report.warnings.count == 1)
            #expect(report.warnings.first?.contains("view public.mine") == true, "\(report.warnings)")
            var names = try await mirror.columns("leads_clients").map(\.name)
            #expect(names.contains("amount") && !names.contains("progress"))

            // A changed shape under the user's view: the column keeps its type, said once.
            try await mirror.field(
                EveryType.appID, 109, "status", "category", position: 8, settings: #"{"multiple": true}"#)
            report = try await mirror.reconcile(EveryType.appID)
            #expect(report.retyped.isEmpty && report.warnings.count == 1)
            #expect(report.warnings.first?.contains("changed shape") == true, "\(report.warnings)")
            report = try await mirror.reconcile(EveryType.appID)
            #expect(report.warnings.isEmpty && !report.changed)
            #expect(
                try await mirror.sql("SELECT status FROM podio_apps.leads_clients WHERE item_id = 1").first?.string(
                    "status") == "Done")

            // Without the view, the next reconciliation drops the kept column and changes the type;
            // other shape changes: a date's time switched on, a calculation now returning text.
            try await mirror.sql("DROP VIEW public.mine")
            try await mirror.field(
                EveryType.appID, 107, "deadline", "date", position: 6,
                settings: #"{"time": "enabled", "end": "disabled"}"#)
            try await mirror.field(
                EveryType.appID, 120, "total", "calculation", position: 19, settings: #"{"return_type": "text"}"#)
            report = try await mirror.reconcile(EveryType.appID)
            #expect(report.dropped == ["amount"])
            #expect(Set(report.retyped) == ["status", "deadline", "total"])
            let columns = Dictionary(
                try await mirror.columns("leads_clients").map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
            #expect(
                columns["status"] == "text[]" && columns["deadline"] == "timestamp with time zone"
                    && columns["total"] == "text")
            let row = try #require(
                try await mirror.sql("SELECT status, deadline, total FROM podio_apps.leads_clients WHERE item_id = 1")
                    .first)
            #expect(row.string("status") == "{Done}")
            #expect(row.string("deadline") == "2016-06-24 00:00:00+00")  // an all-day value in a timed field
            #expect(row.string("total") == "111.0000")
            #expect(
                try await mirror.sql("SELECT deadline FROM podio_apps.leads_clients WHERE item_id = 2").first?.string(
                    "deadline")
                    == "2020-03-01 23:30:00+00")
            // The user's index, grant and comment survived all of it.
            #expect(try await mirror.indexExists("my_status_idx"))
            #expect(try await mirror.indexExists("my_company_idx"))
            #expect(
                try await mirror.sql("SELECT has_table_privilege('public', 'podio_apps.leads_clients', 'SELECT') AS ok")
                    .first?.bool("ok") == true)
            names = try await mirror.columns("leads_clients").map(\.name)
            #expect(!names.contains("amount"))
            let stored = try await mirror.sql(
                "SELECT count(*) AS n FROM podio.app_columns WHERE app_id = $1 AND state <> 'active'", [EveryType.appID]
            )
            #expect(stored.first?.int("n") == 0)
        }
    }

    @Test func aTableAUserDroppedComesBackWhole() async throws {
        try await withMirror { mirror in
            try await EveryType.load(mirror)
            try await mirror.reconcile(EveryType.appID)
            try await mirror.sql("DROP TABLE podio_apps.leads_clients")
            let report = try await mirror.reconcile(EveryType.appID)
            #expect(report.created && report.filledRows == 2)
            try await EveryType.expectRows(mirror)
        }
    }

    @Test func hostileNamesWork() async throws {
        let thousand = String(repeating: "é", count: 1_000)
        let hostileLabel = "Select \"quoted\" \\ back'; DROP TABLE podio.items; -- 🚀\u{1}\n" + thousand
        let externalIDs: [String?] = [
            "select", "order", "a\"b\\c", "naïve ü", "\u{1}\u{7}\n\tctl", thousand,
            String(repeating: "x", count: 999) + "1",
            String(repeating: "x", count: 999) + "2", "title", "item-id", "123abc", "🚀", nil,
            "Robert'); DROP TABLE x;--",
        ]
        try await withMirror { mirror in
            try await mirror.app(7, urlLabel: hostileLabel, name: hostileLabel)
            for (offset, externalID) in externalIDs.enumerated() {
                // Hostile types too: the type is written into the column's SQL as a literal.
                let type = offset % 2 == 0 ? "money" : (offset == 13 ? "text'); DROP TABLE podio.items; --\\" : "text")
                try await mirror.field(7, 700 + offset, externalID, type, label: externalID.map { "Label \($0)" })
            }
            let values = externalIDs.indices.map { offset in
                offset % 2 == 0
                    ? #"{"field_id": \#(700 + offset), "type": "money", "values": [{"value": "\#(offset).5000", "currency": "DKK"}]}"#
                    : #"{"field_id": \#(700 + offset), "type": "text", "values": [{"value": "v\#(offset)"}]}"#
            }
            try await mirror.item(7, 70, title: "'; --", fields: "[" + values.joined(separator: ",") + "]")
            let name = try #require(try await mirror.reconcile(7).table)
            #expect(name == "select_quoted_back_drop_table_podio_items_" + String(repeating: "é", count: 10))
            #expect(name.utf8.count <= 63)
            #expect(try await mirror.tableExists(name))
            let columns = try await mirror.columns(name).map(\.name)
            #expect(Set(columns).count == columns.count)
            #expect(columns.count == 7 + externalIDs.count + externalIDs.indices.filter { $0 % 2 == 0 }.count)
            #expect(columns.allSatisfy { $0.utf8.count <= 63 && !$0.isEmpty })
            #expect(Array(columns.prefix(7)) == TableNaming.fixedColumns)
            for expected in [
                "select", "select_currency", "order", "a_b_c", "a_b_c_currency", "naïve_ü", "ctl", "ctl_currency",
                "title_2", "item_id_2", "field_123abc", "field_123abc_currency", "label", "field_712",
                "field_712_currency",
                "robert_drop_table_x",
            ] {
                #expect(columns.contains(expected), "column \(expected) in \(columns)")
            }
            // Every value is readable through its quoted name.
            let row = try #require(
                try await mirror.sql(
                    "SELECT \"select\", \"select_currency\", \"order\", \"naïve_ü\", \"title\", \"title_2\" FROM podio_apps."
                        + TableNaming.quoteIdentifier(name)
                ).first)
            #expect(row.string("select") == "0.5000" && row.string("select_currency") == "DKK")
            #expect(row.string("order") == "v1" && row.string("naïve_ü") == "v3")
            #expect(row.string("title") == "'; --" && row.string("title_2") == "8.5000")
            #expect(try await mirror.sql("SELECT count(*) AS n FROM podio.items").first?.int("n") == 1)
        }
    }

    @Test func collidingAppsGetDistinctNamesAndTablesMoveWithTheirData() async throws {
        try await withMirror { mirror in
            try await mirror.app(300, urlLabel: "leads", name: "Leads")
            try await mirror.field(300, 3001, "amount", "number")
            try await mirror.item(
                300, 1, title: "one", fields: #"[{"field_id": 3001, "type": "number", "values": [{"value": "5"}]}]"#)
            #expect(try await mirror.reconcile(300).table == "leads")
            try await mirror.sql("CREATE INDEX my_amount_idx ON podio_apps.leads (amount)")
            // A lower app id with the same name takes the plain name; the other table moves.
            try await mirror.app(200, urlLabel: "LEADS!", name: "Leads too")
            try await mirror.field(200, 2001, "status", "category")
            #expect(try await mirror.reconcile(200).table == "leads")
            #expect(try await mirror.storedTableName(300) == "leads_300")
            #expect(try await mirror.columns("leads").map(\.name).last == "status")
            #expect(try await mirror.columns("leads_300").map(\.name).last == "amount")
            #expect(try await mirror.sql("SELECT amount FROM podio_apps.leads_300").first?.string("amount") == "5")
            #expect(try await mirror.indexExists("my_amount_idx"))
            // A URL label that changes renames the table.
            try await mirror.app(300, urlLabel: "prospects", name: "Leads")
            #expect(try await mirror.reconcile(300).table == "prospects")
            #expect(try await !mirror.tableExists("leads_300"))
            #expect(try await mirror.tableExists("prospects"))
            let all = try await mirror.db.run { db in
                try db.withTransaction { try AppTableStore(db: $0, logger: TestDatabase.logger).reconcileAll() }
            }
            #expect(all.map(\.table) == ["leads", "prospects"])
        }
    }

    /// "Which items have contact P" and "which items reference item X" are answered from an index.
    @Test func referencesAreAnsweredFromAnIndex() async throws {
        try await withMirror { mirror in
            try await mirror.app(9, urlLabel: "big")
            try await mirror.field(9, 901, "client", "app")
            try await mirror.field(9, 902, "owner", "contact")
            try await mirror.sql(
                """
                INSERT INTO podio.items (item_id, app_id, app_item_id, title, revision, raw)
                SELECT g, 9, g, 'item ' || g, 1, jsonb_build_object('item_id', g, 'fields', jsonb_build_array(
                    jsonb_build_object('field_id', 901, 'type', 'app', 'values',
                        jsonb_build_array(jsonb_build_object('value', jsonb_build_object('item_id', 100000 + g % 700)))),
                    jsonb_build_object('field_id', 902, 'type', 'contact', 'values',
                        jsonb_build_array(jsonb_build_object('value', jsonb_build_object('profile_id', g % 1000))))))
                FROM generate_series(1, 20000) AS g
                """)
            try await mirror.reconcile(9)
            try await mirror.sql("ANALYZE podio_apps.big")
            func plan(_ query: String) async throws -> String {
                try await mirror.sql("EXPLAIN " + query).rows.compactMap { $0[0] }.joined(separator: "\n")
            }
            let byContact = try await plan("SELECT item_id FROM podio_apps.big WHERE owner @> ARRAY[7::bigint]")
            #expect(byContact.contains("refs 902 value"), "\(byContact)")
            let byItem = try await plan("SELECT item_id FROM podio_apps.big WHERE client @> ARRAY[100007::bigint]")
            #expect(byItem.contains("refs 901 value"), "\(byItem)")
            #expect(
                try await mirror.sql("SELECT count(*) AS n FROM podio_apps.big WHERE owner @> ARRAY[7::bigint]").first?
                    .int("n") == 20)
        }
    }

    /// A mirror made by version 2 kept the legacy types `state`, `tag` and `member` as jsonb:
    /// `migrate` types them, filled from the raw JSON, without Podio.
    @Test func aVersionTwoMirrorTypesTheLegacyFields() async throws {
        try await withMirror { mirror in
            try await EveryType.load(mirror)
            try await mirror.reconcile(EveryType.appID)
            let legacy = ["stage", "organization", "assignee"]
            for column in legacy {
                try await mirror.sql(
                    "ALTER TABLE podio_apps.leads_clients ALTER COLUMN \(column) TYPE jsonb USING NULL")
            }
            try await mirror.sql(
                "UPDATE podio.app_columns SET kind = 'json' WHERE app_id = $1 AND column_name = ANY ($2::text[])",
                [EveryType.appID, legacy])
            try await mirror.sql("UPDATE podio.schema_version SET version = 2")

            let outcome = try await mirror.db.run { try SchemaMigrator.migrate($0, logger: TestDatabase.logger) }
            #expect(outcome == .applied(from: 2, to: SchemaMigrator.currentVersion))
            let columns = try await mirror.columns("leads_clients")
            #expect(columns.map(\.name) == EveryType.expectedColumns.map(\.0))
            for (got, want) in zip(columns, EveryType.expectedColumns) where got.type != want.1 {
                Issue.record("column \(got.name): \(got.type), expected \(want.1)")
            }
            try await EveryType.expectRows(mirror)
        }
    }

    /// A mirror made by the first version (values in podio.item_values, join views in
    /// podio_views) upgrades in place with `migrate` and reads the same, without Podio.
    @Test func aVersionOneMirrorUpgradesInPlace() async throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/schema-v1.sql")
        let v1 = try String(contentsOf: fixture, encoding: .utf8)
        try await withMirror(migrate: false) { mirror in
            try await mirror.db.run { _ = try $0.execute(v1) }
            try await mirror.sql(
                """
                INSERT INTO podio.apps (app_id, space_id, name, item_name, url_label, status, app_revision, raw, view_name)
                VALUES (1001, 1, 'Leads & Clients', 'Item', 'leads-clients', 'active', 1, '{}', 'leads_clients')
                """)
            for (offset, field) in EveryType.fields.enumerated() {
                try await mirror.field(
                    EveryType.appID, field.id, field.externalID, field.type, label: field.externalID.capitalized,
                    position: offset,
                    settings: field.settings, status: field.externalID == "old-notes" ? "deleted" : "active")
            }
            try await EveryType.loadItems(mirror)
            try await mirror.sql(
                """
                INSERT INTO podio.item_values (item_id, field_id, app_id, position, type, value_text, value)
                SELECT i.item_id, (f ->> 'field_id')::bigint, i.app_id, 0, f ->> 'type', podio.value_text(f ->> 'type', f -> 'values' -> 0), f -> 'values' -> 0
                FROM podio.items AS i, jsonb_array_elements(i.raw -> 'fields') AS f
                """)
            try await mirror.sql(
                "CREATE VIEW podio_views.leads_clients AS SELECT item_id, title FROM podio.items WHERE app_id = 1001")
            try await mirror.sql(
                "COMMENT ON VIEW podio_views.leads_clients IS 'podio-mirror: typed view of app 1001 (Leads & Clients)'")
            #expect(try SchemaMigrator.installedVersion(mirror.db) == 1)

            let outcome = try await mirror.db.run { try SchemaMigrator.migrate($0, logger: TestDatabase.logger) }
            #expect(outcome == .applied(from: 1, to: SchemaMigrator.currentVersion))
            #expect(
                try await mirror.sql("SELECT to_regclass('podio.item_values') IS NULL AS gone").first?.bool("gone")
                    == true)
            #expect(
                try await mirror.sql("SELECT to_regnamespace('podio_views') IS NULL AS gone").first?.bool("gone")
                    == true)
            #expect(try await mirror.storedTableName(EveryType.appID) == "leads_clients")
            let columns = try await mirror.columns("leads_clients")
            #expect(columns.map(\.name) == EveryType.expectedColumns.map(\.0))
            try await EveryType.expectRows(mirror)
            // Migrating again does nothing.
            let again = try await mirror.db.run { try SchemaMigrator.migrate($0, logger: TestDatabase.logger) }
            #expect(again == .upToDate(version: SchemaMigrator.currentVersion))
        }
    }
}
