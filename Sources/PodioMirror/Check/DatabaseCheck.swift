import Foundation
import LibPQ
import Logging

/// The database's part of `check`: whether PostgreSQL answers, whether the user has what
/// `migrate` needs, and the schema's version. Reads only.
struct DatabaseCheck: Sendable {
    var settings: MirrorSettings
    let logger: Logger

    /// The schemas `migrate` creates.
    static let schemas = ["podio", "podio_auth", "podio_apps"]

    /// What the database phase learned.
    struct DatabaseState {
        var db: PGConnection?
        var schemaCurrent = false
    }

    /// Connects, and adds the lines of the connection, the privileges `migrate` needs and the
    /// schema; returns the connection (the caller closes it) and whether the schema is current.
    func run(_ add: (CheckReport.Line) -> Void) async -> DatabaseState {
        let db: PGConnection
        do {
            db = try await PGConnection.connect(
                settings.databaseURL, applicationName: "podio-mirror check", logger: logger)
        } catch let error as PGError where error.isInvalidConnectionString {
            add(
                .init(
                    check: "database", status: .fail,
                    message: "DATABASE_URL is not a valid connection string (libpq could not parse it)",
                    fix: "use postgresql://user@host:5432/dbname or host=… dbname=… (libpq's syntax)", exitCode: 64))
            return DatabaseState()
        } catch {
            add(
                .init(
                    check: "database", status: .fail,
                    message: "PostgreSQL is not reachable: \(MirrorError(classifying: error).message)",
                    fix:
                        "check DATABASE_URL (host, port, database, user), that the server runs, and that it lets this user in (pg_hba.conf, ~/.pgpass)",
                    exitCode: 69))
            return DatabaseState()
        }
        do {
            let facts = try await db.run { try Self.databaseFacts($0) }
            add(
                .init(
                    check: "database", status: .ok,
                    message:
                        "PostgreSQL \(facts.version) answers: database \(facts.database) as user \(facts.user)"))
            add(facts.privilegeLine)
            add(facts.schemaLine)
            return DatabaseState(db: db, schemaCurrent: facts.schemaCurrent)
        } catch {
            let classified = MirrorError(classifying: error)
            add(
                .init(
                    check: "database", status: .fail,
                    message: "PostgreSQL answered with an error: \(classified.message)",
                    fix: classified.fix ?? "check the server's log", exitCode: 69))
            return DatabaseState(db: db)
        }
    }

    /// What the database says about itself, the privileges `migrate` needs, and the schema.
    struct DatabaseFacts {
        var version: String
        var database: String
        var user: String
        var privilegeLine: CheckReport.Line
        var schemaLine: CheckReport.Line
        var schemaCurrent: Bool
    }

    static func databaseFacts(_ db: PGConnection) throws -> DatabaseFacts {
        let row = try db.query(
            """
            SELECT current_setting('server_version') AS version, current_database() AS dbname, current_user AS usr,
                   has_database_privilege(current_database(), 'CREATE') AS can_create
            """
        ).first
        let database = row?.string("dbname") ?? "?"
        let user = row?.string("usr") ?? "?"
        let canCreateSchemas = row?.bool("can_create") ?? false
        let schemaRows = try db.query(
            """
            SELECT s AS name, to_regnamespace(s) IS NOT NULL AS present,
                   CASE WHEN to_regnamespace(s) IS NOT NULL THEN has_schema_privilege(s, 'CREATE, USAGE') END AS can_create
            FROM unnest($1::text[]) AS s
            """, [schemas]
        ).rows
        let present = schemaRows.filter { $0.bool("present") == true }.compactMap { $0.string("name") }
        let missing = schemaRows.filter { $0.bool("present") != true }.compactMap { $0.string("name") }
        let lacking = schemaRows.filter { $0.bool("present") == true && $0.bool("can_create") != true }
            .compactMap { $0.string("name") }
        // Tables of the mirror this user may not alter (an upgrade adds columns to them).
        let notOwned =
            try db.query(
                """
                SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ANY ($1::text[]) AND c.relkind IN ('r', 'p') AND NOT pg_has_role(c.relowner, 'USAGE')
                """, [schemas]
            ).first?.int("n") ?? 0
        var problems: [String] = []
        var fixes: [String] = []
        if !missing.isEmpty && !canCreateSchemas {
            problems.append(
                "no CREATE on database \(database) (migrate creates the schemas \(missing.joined(separator: ", ")))")
            fixes.append("GRANT CREATE ON DATABASE \(quoteIdentifier(database)) TO \(quoteIdentifier(user))")
        }
        if !lacking.isEmpty {
            problems.append("no CREATE on schema \(lacking.joined(separator: ", "))")
            fixes.append(
                "GRANT USAGE, CREATE ON SCHEMA \(lacking.map(quoteIdentifier).joined(separator: ", ")) TO \(quoteIdentifier(user))"
            )
        }
        if notOwned > 0 {
            problems.append("\(notOwned) of the mirror's tables belong to another role (an upgrade alters them)")
            fixes.append("run migrate as the role that owns them, or ALTER TABLE … OWNER TO \(quoteIdentifier(user))")
        }
        let privilegeLine: CheckReport.Line
        if problems.isEmpty {
            let what =
                missing.isEmpty
                ? "CREATE on the schemas \(present.joined(separator: ", "))"
                : "CREATE on database \(database)"
                    + (present.isEmpty ? "" : " and on the schemas \(present.joined(separator: ", "))")
            privilegeLine = .init(
                check: "database privileges", status: .ok, message: "\(user) has what migrate needs: \(what)")
        } else {
            privilegeLine = .init(
                check: "database privileges", status: .fail,
                message: "\(user) lacks what migrate needs: " + problems.joined(separator: "; "),
                fix: "as the database owner or a superuser: " + fixes.joined(separator: "; "), exitCode: 77)
        }
        let installed = try SchemaMigrator.installedVersion(db)
        let current = SchemaMigrator.currentVersion
        let schemaLine: CheckReport.Line
        var schemaCurrent = false
        switch installed {
        case nil:
            schemaLine = .init(
                check: "schema", status: .note, message: "no podio-mirror schema yet (a new database)",
                fix: "run `podio-mirror migrate`")
        case let version? where version > current:
            schemaLine = .init(
                check: "schema", status: .fail,
                message: "version \(version), newer than this podio-mirror understands (\(current))",
                fix: "upgrade podio-mirror, or point DATABASE_URL at another database", exitCode: 64)
        case let version? where version < current:
            schemaLine = .init(
                check: "schema", status: .note, message: "version \(version); this podio-mirror needs \(current)",
                fix: "run `podio-mirror migrate` to upgrade it")
        case let version?:
            let lacks = try SchemaMigrator.missingObjects(db)
            if let first = lacks.first {
                schemaLine = .init(
                    check: "schema", status: .note,
                    message:
                        "version \(version), but it lacks \(first)\(lacks.count > 1 ? " and \(lacks.count - 1) more" : "")",
                    fix: "run `podio-mirror migrate`")
            } else {
                schemaLine = .init(check: "schema", status: .ok, message: "version \(version), current")
                schemaCurrent = true
            }
        }
        return DatabaseFacts(
            version: row?.string("version") ?? "?", database: database, user: user, privilegeLine: privilegeLine,
            schemaLine: schemaLine, schemaCurrent: schemaCurrent)
    }

    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
