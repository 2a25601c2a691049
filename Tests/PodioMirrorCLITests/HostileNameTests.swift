import Foundation
import PodioSimulator
import TestSupport
import Testing

/// Names and values built to break quoting: quotes, backslashes, control characters, SQL
/// keywords, non-ASCII and 1,000-character strings, in app names, URL labels, field labels,
/// external ids and values.
@Suite("Hostile names")
struct HostileNameTests {
    static let long = String(repeating: "Ünï\"'\\ ", count: 143)  // 1,001 characters
    static let appName =
        "Ops \"Q1\" \\ <Team> & 'Co'; DROP TABLE podio.apps;-- \u{1}\u{7}\t\u{1b}[31m SELECT * FROM " + long
    static let hostileValues = [
        "'); DROP TABLE podio.items;--", "\"quoted\" and \\backslash\\", "tab\there\rcarriage\u{1}\u{1f}\u{7f}",
        "SELECT * FROM podio_auth.oauth_tokens", "$1 $$ dollar $$", "%s %n %@", long, "🚀 Ünïcödé ß",
    ]

    @Test func syncViewsAndQueriesWork() async throws {
        var options = CLIHarness.Options()
        options.apps = [
            PodioSimulator.AppSpec(
                name: Self.appName, urlLabel: "select-\"from\"-'where'\\" + String(repeating: "ü", count: 1_000),
                itemCount: 25,
                fields: .hostile),
            PodioSimulator.AppSpec(name: "Order", urlLabel: "order", itemCount: 10, fields: .hostile),
        ]
        try await CLIHarness.with(options) { h in
            let apps = h.simulator.appIDs()
            let fields = (try h.truthApps().first?["fields"] as? [[String: Any]]) ?? []
            // Items whose text values are all hostile.
            let textFields = fields.filter { $0["type"] as? String == "text" }
            #expect(textFields.count >= 3)
            var created: [Int] = []
            for value in Self.hostileValues {
                let raw = textFields.map { f -> [String: Any] in
                    [
                        "field_id": f["field_id"] ?? 0, "external_id": f["external_id"] ?? "", "type": "text",
                        "label": f["label"] ?? "", "values": [["value": value]],
                    ]
                }
                created.append(
                    try h.simulator.createItem(
                        appID: apps[0], rawFields: try JSONSerialization.data(withJSONObject: raw)))
            }
            let sync = try await h.run(["sync", "--log-level", "debug"])
            #expect(sync.status == 0, "\(sync.printed)")
            let differences = try await h.differences()
            #expect(differences == [])
            #expect(try await h.scalar("SELECT name FROM podio.apps WHERE app_id = $1", [apps[0]]) == Self.appName)
            for (id, value) in zip(created, Self.hostileValues) {
                #expect(try await h.scalar("SELECT title FROM podio.items WHERE item_id = $1", [id]) == value)
            }

            let tables = try await h.run(["tables"])
            #expect(tables.status == 0, "\(tables.printed)")
            let tableNames = try await h.rows("SELECT app_id, table_name FROM podio.apps ORDER BY app_id")
            #expect(tableNames.count == 2)
            for row in tableNames {
                let name = try #require(row.string("table_name"))
                #expect(name.utf8.count <= 63)
                let quoted = "podio_apps.\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                let appID = row.int("app_id") ?? 0
                let items = try await h.count("SELECT count(*) FROM \(quoted)")
                #expect(items == (appID == apps[0] ? 25 + Self.hostileValues.count : 10))
                // Every column reads, each hostile value comes back exactly.
                let columns = try await h.rows(
                    "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
                    [quoted]
                ).compactMap { $0.string("attname") }
                #expect(columns.count > 5)
                for column in columns {
                    let c = "\"" + column.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                    _ = try await h.rows("SELECT \(c)::text FROM \(quoted) ORDER BY \(c)::text LIMIT 3")
                }
                if appID == apps[0] {
                    for (id, value) in zip(created, Self.hostileValues) {
                        #expect(try await h.scalar("SELECT title FROM \(quoted) WHERE item_id = $1", [id]) == value)
                    }
                }
            }
            // Columns are named after the hostile labels, within PostgreSQL's 63 bytes.
            let columnNames = try await h.rows(
                """
                SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'podio_apps' AND a.attnum > 0
                """
            ).compactMap { $0.string("attname") }
            #expect(columnNames.allSatisfy { $0.utf8.count <= 63 })

            // status and apps print the names on one line each, without raw control characters.
            for arguments in [["status"], ["apps"]] {
                let outcome = try await h.run(arguments)
                #expect(outcome.status == 0, "\(outcome.printed)")
                let control = outcome.stdout.unicodeScalars.filter { $0.value < 0x20 && $0 != "\n" || $0.value == 0x7f }
                #expect(control.isEmpty, "\(arguments) printed control characters: \(control.map(\.value))")
            }
            let json = try await h.run(["status", "--json"])
            let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            let names = (parsed?["apps"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
            #expect(names.contains(Self.appName))

            // A delta after edits of hostile items, and a rebuild after a hostile field appears.
            for id in created.prefix(3) { try h.simulator.editItem(itemID: id, title: Self.hostileValues.last) }
            try h.simulator.addField(
                appID: apps[0], type: "text", label: "\"; DROP VIEW x;--\u{1}", externalID: "select\\\"")
            let delta = try await h.run(["sync"])
            #expect(delta.status == 0, "\(delta.printed)")
            let afterDelta = try await h.differences()
            #expect(afterDelta == [])
            #expect(try await h.run(["views"]).status == 0)
            try await h.expectNoSecretsLeaked()
        }
    }
}
