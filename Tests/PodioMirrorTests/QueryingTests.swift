import Foundation
import LibPQ
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

/// What an analyst reads without working it out (issue 27): Podio's names in the catalogue,
/// references that join, people and places, and items that moved between apps. The expected
/// texts and sets come from the simulator's own definitions and items (`GET /_sim/truth`).
@Suite("For the people who query the mirror")
struct QueryingTests {
    /// The simulator's truth, read plainly.
    struct Truth {
        var apps: [[String: Any]]

        init(_ data: Data) throws {
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            apps = object?["apps"] as? [[String: Any]] ?? []
        }

        func app(_ id: Int) -> [String: Any]? {
            apps.first { ($0["app_id"] as? Int) == id }
        }

        func fields(_ id: Int) -> [[String: Any]] {
            (app(id)?["fields"] as? [[String: Any]] ?? []).filter { ($0["status"] as? String) == "active" }
        }

        func items(_ id: Int) -> [[String: Any]] {
            app(id)?["items"] as? [[String: Any]] ?? []
        }
    }

    static func settings(_ field: [String: Any]) -> [String: Any] {
        (field["config"] as? [String: Any])?["settings"] as? [String: Any] ?? [:]
    }

    /// The comments a field's columns should carry: (field id, comment), one per column.
    static func expectedComments(_ field: [String: Any]) -> [String] {
        guard let id = field["field_id"] as? Int, let type = field["type"] as? String, type != "separator" else {
            return []
        }
        let label = field["label"] as? String ?? ""
        var texts = ["\(label) (Podio field \(id), \(type))"]
        if type == "money" { texts.append("\(label): currency (ISO 4217) (Podio field \(id), \(type))") }
        if type == "date" && (settings(field)["end"] as? String) != "disabled" {
            texts.append("\(label): end (Podio field \(id), \(type))")
        }
        return texts
    }

    /// Every field column's comment, by column name.
    static func comments(_ h: EngineHarness, table: String) async throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try await h.db.run({ db in
            try db.query(
                """
                SELECT a.attname, col_description(a.attrelid, a.attnum) AS comment FROM pg_attribute AS a
                WHERE a.attrelid = to_regclass('podio_apps.' || quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped
                """, [table]
            ).rows
        }) {
            if let name = row.string("attname"), let comment = row.string("comment") { out[name] = comment }
        }
        return out
    }

    static func tableName(_ h: EngineHarness, _ appID: Int) async throws -> String {
        try #require(try await h.scalar("SELECT table_name FROM podio.apps WHERE app_id = $1", [appID]))
    }

    // MARK: - 1. Labels in the catalogue

    @Test func columnsAndTablesCarryPodioNamesAndUsersCommentsStay() async throws {
        try await EngineHarness.with(items: 30) { h in
            try await h.sync()
            let truth = try Truth(h.simulator.truth())
            let mirrored = try await h.db.run { db in
                try db.query("SELECT app_id, name FROM podio.apps ORDER BY app_id").rows.compactMap { row in
                    row.int("app_id").map { ($0, row.string("name") ?? "") }
                }
            }
            #expect(mirrored.count >= 3)
            for (appID, name) in mirrored {
                let table = try await Self.tableName(h, appID)
                let expected = truth.fields(appID).flatMap(Self.expectedComments).sorted()
                let got = try await Self.comments(h, table: table).values.sorted()
                #expect(got == expected, "podio_apps.\(table)")
                let tableComment = try await h.scalar(
                    "SELECT obj_description(to_regclass('podio_apps.' || quote_ident($1)), 'pg_class')", [table])
                #expect(tableComment?.hasPrefix("\(name) (Podio app \(appID), https://podio.com/") == true)
            }

            // Podio renames: a label, a label with its external id (the column is renamed and
            // keeps its comment), and a label under a comment of the user's, which stays.
            let appID = try #require(mirrored.first { $0.1 == "Projects" }?.0)
            let table = try await Self.tableName(h, appID)
            let fields = truth.fields(appID)
            func fieldID(_ externalID: String) throws -> Int {
                try #require(fields.first { ($0["external_id"] as? String) == externalID }?["field_id"] as? Int)
            }
            _ = try await h.db.run {
                try $0.execute("COMMENT ON COLUMN podio_apps.\(table).status IS 'mine: the stage'")
            }
            try h.simulator.renameField(
                appID: appID, fieldID: try fieldID("amount"), label: "Amount: \"net\" €", externalID: nil)
            try h.simulator.renameField(appID: appID, fieldID: try fieldID("budget"), label: "Plan", externalID: "plan")
            try h.simulator.renameField(appID: appID, fieldID: try fieldID("status"), label: "Stage", externalID: nil)
            _ = try await h.db.run { try $0.execute("COMMENT ON TABLE podio_apps.\(table) IS ''") }
            try await h.sync(.resync)  // the definitions are read again
            let comments = try await Self.comments(h, table: table)
            #expect(comments["amount"] == "Amount: \"net\" € (Podio field \(try fieldID("amount")), number)")
            #expect(comments["plan"] == "Plan (Podio field \(try fieldID("budget")), money)")
            #expect(
                comments["plan_currency"] == "Plan: currency (ISO 4217) (Podio field \(try fieldID("budget")), money)")
            #expect(comments["budget"] == nil)
            #expect(comments["status"] == "mine: the stage")
            let tableComment = try await h.scalar(
                "SELECT obj_description(to_regclass('podio_apps.' || quote_ident($1)), 'pg_class')", [table])
            #expect(tableComment?.hasPrefix("Projects (Podio app \(appID)") == true)

            // A comment of the user's on the table stays too.
            _ = try await h.db.run { try $0.execute("COMMENT ON TABLE podio_apps.\(table) IS 'our projects'") }
            try h.simulator.renameField(appID: appID, fieldID: try fieldID("amount"), label: "Net", externalID: nil)
            try await h.sync(.resync)  // the definitions are read again
            #expect(
                try await h.scalar(
                    "SELECT obj_description(to_regclass('podio_apps.' || quote_ident($1)), 'pg_class')", [table])
                    == "our projects")
            #expect(
                try await Self.comments(h, table: table)["amount"]
                    == "Net (Podio field \(try fieldID("amount")), number)")
        }
    }

    // MARK: - 5. Moved items

    @Test func anItemMovedToAnotherAppLeavesTheOldTable() async throws {
        let apps = [
            PodioSimulator.AppSpec(name: "Leads", urlLabel: "leads", itemCount: 6, fields: .simple),
            PodioSimulator.AppSpec(name: "Customers", urlLabel: "customers", itemCount: 4, fields: .simple),
        ]
        try await EngineHarness.with(apps: apps) { h in
            let ids = h.simulator.appIDs()
            let (leads, customers) = (ids[0], ids[1])
            try await h.sync()
            let moved = try #require(Truth(h.simulator.truth()).items(leads).first?["item_id"] as? Int)
            try h.simulator.moveItem(itemID: moved, toAppID: customers)
            let truth = try Truth(h.simulator.truth())
            let target = try #require(truth.items(customers).first { ($0["item_id"] as? Int) == moved })
            #expect(truth.items(leads).count == 5 && truth.items(customers).count == 5)

            // Only the target app: the old table is left by the page that writes the item into
            // the new one (not later, by the old app's deletion detection).
            try await h.sync(apps: [customers])
            #expect(try await h.count("SELECT count(*) FROM podio_apps.leads WHERE item_id = $1", [moved]) == 0)
            #expect(try await h.count("SELECT count(*) FROM podio_apps.leads") == 5)
            #expect(
                try await h.scalar("SELECT app_item_id FROM podio_apps.customers WHERE item_id = $1", [moved])
                    == String(describing: target["app_item_id"] as? Int ?? -1))
            #expect(try await h.count("SELECT count(*) FROM podio_apps.customers") == 5)
            #expect(try await h.count("SELECT app_id FROM podio.items WHERE item_id = $1", [moved]) == customers)
            try await h.sync()
            #expect(try await h.count("SELECT count(*) FROM podio_apps.leads") == 5)
            #expect(try await h.differences(apps: ids) == [])
        }
    }

    // MARK: - 2. References that join

    @Test func referencesNameTheirTablesAndJoinThroughTheIndex() async throws {
        try await EngineHarness.with(items: 40) { h in
            try await h.sync()
            let truth = try Truth(h.simulator.truth())
            // Every app reference field of every mirrored app, from the simulator's definitions.
            var expected: [String] = []
            for app in truth.apps {
                guard let appID = app["app_id"] as? Int,
                    try await h.count("SELECT count(*) FROM podio.apps WHERE app_id = $1", [appID]) == 1
                else { continue }
                for field in truth.fields(appID) where (field["type"] as? String) == "app" {
                    let targets = (Self.settings(field)["referenced_apps"] as? [[String: Any]] ?? []).compactMap {
                        $0["app_id"] as? Int
                    }
                    expected.append("\(appID) \(field["field_id"] as? Int ?? 0) \(targets)")
                }
            }
            #expect(!expected.isEmpty)
            let rows = try await h.db.run { db in
                try db.query(
                    """
                    SELECT app_id, field_id, referenced_app_ids::text AS ids, table_name, column_name,
                           referenced_tables::text AS tables,
                           (SELECT array_agg(t.table_name ORDER BY o)::text FROM unnest(referenced_app_ids) WITH ORDINALITY AS u(id, o)
                            JOIN podio.apps AS t ON t.app_id = u.id) AS want_tables
                    FROM podio.app_references ORDER BY app_id, field_id
                    """
                ).rows
            }
            let got = rows.map { row in
                "\(row.int("app_id") ?? 0) \(row.int("field_id") ?? 0) [\((row.string("ids") ?? "").dropFirst().dropLast().split(separator: ",").joined(separator: ", "))]"
            }
            #expect(got.sorted() == expected.sorted())
            for row in rows { #expect(row.string("tables") == row.string("want_tables")) }

            // The join of docs/tables.md, written from podio.app_references: each reference of
            // the simulator's items is found (references to live items only: Podio serves no others).
            let projects = try #require(
                truth.apps.first { ($0["url_label"] as? String) == "projects" }?["app_id"] as? Int)
            let reference = try #require(rows.first { $0.int("app_id") == projects })
            let (from, column) = (
                try #require(reference.string("table_name")), try #require(reference.string("column_name"))
            )
            let to = try #require(
                reference.string("tables")?.dropFirst().dropLast().split(separator: ",").first.map(String.init))
            var pairs = 0
            for item in truth.items(projects) {
                for field in item["fields"] as? [[String: Any]] ?? [] where (field["type"] as? String) == "app" {
                    pairs += (field["values"] as? [Any])?.count ?? 0
                }
            }
            #expect(pairs > 0)
            let unnestJoin = """
                SELECT count(*) FROM podio_apps.\(from) AS p
                CROSS JOIN LATERAL unnest(p.\(column)) AS ref(item_id)
                JOIN podio_apps.\(to) AS c ON c.item_id = ref.item_id
                """
            let anyJoin = """
                SELECT count(*) FROM podio_apps.\(to) AS c
                JOIN podio_apps.\(from) AS p ON p.\(column) @> ARRAY[c.item_id]
                """
            #expect(try await h.count(unnestJoin) == pairs)
            #expect(try await h.count(anyJoin) == pairs)
            #expect(
                try await h.count(
                    anyJoin.replacingOccurrences(
                        of: "p.\(column) @> ARRAY[c.item_id]", with: "c.item_id = ANY (p.\(column))")) == pairs)
            // The index is usable: with sequential scans priced out, the plans use the GIN index
            // (`@>`) and the primary key (`unnest`).
            let plans = try await h.db.run { db -> (String, String) in
                try db.withTransaction { db in
                    try db.execute("SET LOCAL enable_seqscan = off")
                    let gin = try db.query("EXPLAIN " + anyJoin).rows.compactMap { $0[0] }.joined(separator: "\n")
                    let pkey = try db.query("EXPLAIN " + unnestJoin).rows.compactMap { $0[0] }.joined(separator: "\n")
                    return (gin, pkey)
                }
            }
            #expect(plans.0.contains("Bitmap Index Scan on \"refs "), "\(plans.0)")
            #expect(plans.1.contains("pkey"), "\(plans.1)")

            // Kept in step: a new reference field appears, a deleted one goes.
            let field = try h.simulator.addField(appID: projects, type: "app", label: "Partner")
            try await h.sync(.resync)  // the definitions are read again
            #expect(try await h.count("SELECT count(*) FROM podio.app_references WHERE field_id = $1", [field]) == 1)
            try h.simulator.deleteField(appID: projects, fieldID: field)
            try await h.sync(.resync)  // the definitions are read again
            #expect(try await h.count("SELECT count(*) FROM podio.app_references WHERE field_id = $1", [field]) == 0)
        }
    }

    // MARK: - 3. People and places

    @Test func profilesSpacesAndOrgsComeFromWhatTheMirrorReads() async throws {
        try await EngineHarness.with(items: 30) { h in
            try await h.sync()
            let truth = try Truth(h.simulator.truth())
            // Contact values and bylines of every item, from the simulator's items.
            var profiles: [Int: (user: Int?, name: String)] = [:]
            var bylineUsers: [Int: String] = [:]
            var assigned: [String: Set<Int>] = [:]
            let projects = try #require(
                truth.apps.first { ($0["url_label"] as? String) == "projects" }?["app_id"] as? Int)
            for app in truth.apps {
                // The apps whose items the mirror holds (an inactive app may be listed, not synced).
                guard let appID = app["app_id"] as? Int, !truth.items(appID).isEmpty,
                    try await h.count("SELECT count(*) FROM podio.items WHERE app_id = $1", [appID])
                        == truth.items(appID).count
                else { continue }
                for item in truth.items(appID) {
                    for byline in [item["created_by"], (item["current_revision"] as? [String: Any])?["created_by"]] {
                        if let b = byline as? [String: Any], b["type"] as? String == "user", let id = b["id"] as? Int {
                            bylineUsers[id] = b["name"] as? String ?? ""
                        }
                    }
                    for field in item["fields"] as? [[String: Any]] ?? [] where field["type"] as? String == "contact" {
                        for value in field["values"] as? [[String: Any]] ?? [] {
                            guard let v = value["value"] as? [String: Any], let pid = v["profile_id"] as? Int else {
                                continue
                            }
                            let name = v["name"] as? String ?? ""
                            profiles[pid] = (v["user_id"] as? Int, name)
                            if appID == projects, field["external_id"] as? String == "owner",
                                let id = item["item_id"] as? Int
                            {
                                assigned[name, default: []].insert(id)
                            }
                        }
                    }
                }
            }
            #expect(profiles.count >= 3 && !bylineUsers.isEmpty)
            let rows = try await h.db.run { db in
                try db.query("SELECT profile_id, user_id, name, type FROM podio.profiles ORDER BY profile_key").rows
            }
            var want = profiles.map {
                "profile \($0.key) user \($0.value.user.map(String.init) ?? "-") \($0.value.name)"
            }
            let contactUsers = Set(profiles.values.compactMap(\.user))
            for (user, name) in bylineUsers where !contactUsers.contains(user) {
                want.append("profile - user \(user) \(name)")
            }
            let got = rows.map {
                "profile \($0.string("profile_id") ?? "-") user \($0.string("user_id") ?? "-") \($0.string("name") ?? "")"
            }
            #expect(got.sorted() == want.sorted())

            // Items by assignee name (docs/tables.md).
            let (name, items) = try #require(assigned.max { $0.value.count < $1.value.count })
            let table = try await Self.tableName(h, projects)
            let found = try await h.db.run { db in
                try db.query(
                    """
                    SELECT DISTINCT t.item_id FROM podio_apps.\(table) AS t
                    CROSS JOIN LATERAL unnest(t.owner) AS o(profile_id)
                    JOIN podio.profiles AS p ON p.profile_id = o.profile_id
                    WHERE p.name = $1
                    """, [name]
                ).rows.compactMap { $0.int("item_id") }
            }
            #expect(Set(found) == items)

            // A newer item showing a profile differently updates it.
            let (pid, profile) = try #require(profiles.first)
            let raw = """
                [{"field_id": 1, "type": "contact", "external_id": "owner", "label": "Owner",
                  "values": [{"value": {"profile_id": \(pid), "user_id": \(profile.user ?? 0), "type": "user",
                              "name": "Renamed Person", "mail": ["new@example.com"]}}]}]
                """
            _ = try h.simulator.createItem(appID: projects, rawFields: Data(raw.utf8))
            try await h.sync()
            #expect(
                try await h.scalar(
                    "SELECT name || ' ' || array_to_string(mail, ',') FROM podio.profiles WHERE profile_id = $1", [pid])
                    == "Renamed Person new@example.com")

            // A mirror made before version 6 gets its profiles from the items it holds.
            let profileCount = try await h.count("SELECT count(*) FROM podio.profiles")
            _ = try await h.db.run { db in
                try db.execute("DELETE FROM podio.profiles; UPDATE podio.schema_version SET version = 5")
            }
            let outcome = try await h.db.run { try SchemaMigrator.migrate($0, logger: EngineHarness.logger) }
            #expect(outcome == .applied(from: 5, to: SchemaMigrator.currentVersion))
            #expect(try await h.count("SELECT count(*) FROM podio.profiles") == profileCount)

            // Spaces and organizations of the app list's walk.
            let spaces = try await h.db.run { db in
                try db.query(
                    "SELECT s.name, o.name AS org FROM podio.spaces AS s JOIN podio.orgs AS o USING (org_id) ORDER BY s.name"
                ).rows.map {
                    "\($0.string("name") ?? "") @ \($0.string("org") ?? "")"
                }
            }
            #expect(spaces == ["Back office @ Acme Ünïcorp & Co", "Sales & Delivery @ Acme Ünïcorp & Co"])
        }
    }
}
