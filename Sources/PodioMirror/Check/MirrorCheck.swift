import Foundation
import LibPQ
import Logging
import PodioAPI

/// `podio-mirror check`: whether a setup can work, before `migrate` and the first sync. It
/// writes nothing to the mirror's tables (its calls are booked in the quota ledger when the
/// database holds a current schema, and a token it obtains is stored as a run's would be).
///
/// Podio is asked at most `callBudget` API calls (`quirkBudget` more with `podioQuirks`), said
/// before the first is made; the calls go through the quota ledger when there is one, else
/// through a gate that refuses a call of a tier whose last answer left little (`CheckGate`).
public struct MirrorCheck: Sendable {
    /// The API calls the check spends at most (token grants not included).
    public static let callBudget = 10
    /// The API calls `--podio-quirks` spends at most, on top.
    public static let quirkBudget = 20

    public var settings: MirrorSettings
    /// `--hook-url`: the public base URL that should reach `run --listen`.
    public var hookURL: String?
    /// `--podio-quirks`: measure what reference §12 leaves open.
    public var podioQuirks = false
    let transport: any HTTPTransport
    let clock: any WallClock
    let logger: Logger

    public init(
        settings: MirrorSettings, hookURL: String? = nil, podioQuirks: Bool = false, transport: any HTTPTransport,
        clock: any WallClock = SystemClock(), logger: Logger
    ) {
        self.settings = settings
        self.hookURL = hookURL
        self.podioQuirks = podioQuirks
        self.transport = transport
        self.clock = clock
        self.logger = logger
    }

    /// The schemas `migrate` creates.
    static let schemas = ["podio", "podio_auth", "podio_apps"]

    /// What the database phase learned.
    struct DatabaseState {
        var db: PGConnection?
        var schemaCurrent = false
    }

    /// Runs every check; `onLine` sees each line as soon as it is known (the plan line before
    /// any call to Podio).
    public func run(onLine: (CheckReport.Line) -> Void = { _ in }) async -> CheckReport {
        var report = CheckReport()
        let secrets = secrets
        func add(_ line: CheckReport.Line) {
            var line = line
            // One line each: libpq's messages span lines.
            line.message = Self.redact(line.message, secrets).split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            line.fix = line.fix.map { Self.redact($0, secrets) }
            report.lines.append(line)
            onLine(line)
        }
        let database = await checkDatabase(add)
        defer { database.db?.close() }
        let podio = await checkPodio(database: database, add)
        report.tiers = podio.tiers
        report.quirks = podio.quirks
        report.callsAnnounced = podio.callsAnnounced
        report.callsSpent = podio.callsSpent
        report.tokenGrants = podio.tokenGrants
        if let hookURL { add(await checkHookURL(hookURL)) }
        return report
    }

    /// The configured secrets (client secret, password, app tokens), which no line may carry.
    var secrets: [String] {
        var all = [settings.apiKey?.clientSecret].compactMap { $0 } + settings.appTokens.values
        if case .password(_, let password)? = settings.userCredentials { all.append(password) }
        return all.filter { !$0.isEmpty }
    }

    static func redact(_ text: String, _ secrets: [String]) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "<redacted>") }
    }

    // MARK: - The database

    private func checkDatabase(_ add: (CheckReport.Line) -> Void) async -> DatabaseState {
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

    // MARK: - The hook URL

    func checkHookURL(_ text: String) async -> CheckReport.Line {
        let base: String
        do {
            base = try HookURL.validate(base: text)
        } catch {
            let classified = MirrorError(classifying: error)
            return .init(
                check: "hook url", status: .fail,
                message: classified.message.replacingOccurrences(of: "--url", with: "--hook-url"),
                fix: classified.fix, exitCode: 64)
        }
        var url = base
        while url.hasSuffix("/") { url.removeLast() }
        url += HookProbe.path
        let nonce = HookProbe.makeNonce()
        let request = TransportRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("User-Agent", "podio-mirror check")],
            body: Data(HookProbe.body(nonce: nonce).utf8), timeout: 10)
        var notes: [String] = []
        if let parsed = URL(string: base) {
            let port = parsed.port ?? (parsed.scheme?.lowercased() == "https" ? 443 : 80)
            if ![80, 443].contains(port) { notes.append("Podio calls only ports 80 and 443, this URL uses \(port)") }
            if let host = parsed.host, MirrorSettings.isLoopback(host: host) {
                notes.append("\(host) is this machine: Podio cannot reach it")
            }
        }
        do {
            let response = try await transport.send(request)
            let body = String(decoding: response.body.prefix(512), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard response.status == 200, body == HookProbe.answer(nonce: nonce) else {
                return .init(
                    check: "hook url", status: .fail,
                    message:
                        "\(base) answered HTTP \(response.status), not as the receiver of `podio-mirror run --listen`",
                    fix:
                        "point the proxy or tunnel behind the URL at the address of `run --listen` (and forward POSTs to \(HookURL.prefix)…)",
                    exitCode: 69)
            }
            let extra = notes.isEmpty ? "" : " (note: " + notes.joined(separator: "; ") + ")"
            return .init(
                check: "hook url", status: notes.isEmpty ? .ok : .warning,
                message: "a POST to \(base)\(HookURL.prefix)… reaches the receiver of `run --listen`\(extra)")
        } catch {
            let reason = (error as? TransportError)?.message ?? "\(error)"
            return .init(
                check: "hook url", status: .fail, message: "no answer from \(base): \(reason)",
                fix:
                    "start `podio-mirror run --listen HOST:PORT` and make the URL reach it (a reverse proxy or a tunnel)",
                exitCode: 69)
        }
    }
}
