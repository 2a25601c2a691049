import LibPQ
import Logging

/// Creates or upgrades the database schema from `schema.sql`, compiled into the binary.
public enum SchemaMigrator {
    /// The text of `schema.sql` as built into this binary.
    public static let script: String = String(decoding: PackageResources.schema_sql, as: UTF8.self)

    /// The version the file declares on its `-- schema-version: N` line.
    public static let currentVersion: Int = {
        for line in script.split(separator: "\n") where line.hasPrefix("-- schema-version:") {
            if let v = Int(line.dropFirst("-- schema-version:".count).trimmingCharacters(in: .whitespaces)) { return v }
        }
        return 0
    }()

    /// What `migrate` did.
    public enum Outcome: Sendable, Equatable {
        case upToDate(version: Int)
        case applied(from: Int?, to: Int)
    }

    /// Applies `schema.sql` in one transaction under an advisory lock, unless the database
    /// already has this version (then nothing is executed at all).
    /// - Throws: `MirrorError` when the database's schema is newer than this binary; `PGError` otherwise.
    @discardableResult
    public static func migrate(_ db: PGConnection, logger: Logger) throws -> Outcome {
        try db.withTransaction { db in
            try db.advisoryTransactionLock(LockKeys.migrate)
            let installed = try installedVersion(db)
            // Up to date: this version, and every table and column the script declares is there
            // (statements added within a version, all idempotent, reach older databases too).
            if let installed, installed == currentVersion, try missingObjects(db).isEmpty {
                return .upToDate(version: installed)
            }
            if let installed, installed > currentVersion {
                throw MirrorError(
                    .database,
                    "the database schema is version \(installed), newer than this podio-mirror understands (\(currentVersion))",
                    fix: "upgrade podio-mirror, or point DATABASE_URL at another database")
            }
            logger.debug(
                "applying schema",
                metadata: ["from": "\(installed.map(String.init) ?? "none")", "to": "\(currentVersion)"])
            do {
                try db.execute(script)
            } catch let error as PGError where error.sqlState == "2BP01" {
                throw MirrorError(
                    .database,
                    "the upgrade drops podio-mirror's old views and podio.item_values, and objects of yours depend on them",
                    fix:
                        "drop those objects (PostgreSQL names them: \(error.detail ?? error.message)), run `podio-mirror migrate`, "
                        + "then recreate them on the app tables in podio_apps")
            }
            // Steps SQL alone cannot take: every app's table, created and filled from the raw
            // JSON (from version 1, whose values were in podio.item_values), no call to Podio.
            // Version 6's profiles, from the items the mirror holds (no call to Podio).
            if let installed, installed < 6 {
                for statement in ProfileSQL.statements(source: ProfileSQL.mirrorSource) { try db.execute(statement) }
            }
            let tables = try AppTableStore(db: db, logger: logger).reconcileAll()
            if !tables.isEmpty {
                logger.info("app tables in step", metadata: ["tables": "\(tables.map { "podio_apps.\($0.table)" })"])
            }
            return .applied(from: installed, to: currentVersion)
        }
    }

    /// The tables (`CREATE TABLE IF NOT EXISTS`) and columns (`ADD COLUMN IF NOT EXISTS`) the
    /// script declares, as `schema.table` and `schema.table.column`.
    static let declaredObjects: (tables: [String], columns: [(table: String, column: String)]) = {
        var tables: [String] = []
        var columns: [(table: String, column: String)] = []
        for line in script.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == ";" }).map(String.init)
            if words.starts(with: ["CREATE", "TABLE", "IF", "NOT", "EXISTS"]), words.count > 5 {
                tables.append(words[5])
            }
            if words.starts(with: ["ALTER", "TABLE"]), words.count > 8,
                Array(words[3...7]) == ["ADD", "COLUMN", "IF", "NOT", "EXISTS"]
            {
                columns.append((words[2], words[8]))
            }
        }
        return (tables, columns)
    }()

    /// Declared tables and columns the database lacks.
    static func missingObjects(_ db: PGConnection) throws -> [String] {
        let declared = declaredObjects
        let tables = try db.query(
            "SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NULL", [declared.tables]
        ).rows.compactMap { $0.string("t") }
        let columns = try db.query(
            """
            SELECT c.tbl || '.' || c.col AS missing FROM unnest($1::text[], $2::text[]) AS c(tbl, col)
            WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(c.tbl) AND a.attname = c.col
                              AND NOT a.attisdropped)
            """, [declared.columns.map(\.table), declared.columns.map(\.column)]
        ).rows.compactMap { $0.string("missing") }
        return tables + columns
    }

    /// The schema version recorded in the database, or nil when it has none.
    public static func installedVersion(_ db: PGConnection) throws -> Int? {
        let exists = try db.query("SELECT to_regclass('podio.schema_version') IS NOT NULL AS present").first?.bool(
            "present")
        guard exists == true else { return nil }
        return try db.query("SELECT version FROM podio.schema_version").first?.int("version")
    }

    /// Fails with a clear message when the database is not migrated to this binary's version.
    public static func requireCurrent(_ db: PGConnection) throws {
        let installed = try installedVersion(db)
        guard installed == currentVersion else {
            throw MirrorError(
                .usage,
                installed == nil
                    ? "the database has no podio-mirror schema"
                    : "the database schema is version \(installed!), this podio-mirror needs \(currentVersion)",
                fix: "run `podio-mirror migrate` first")
        }
        let missing = try missingObjects(db)
        if let first = missing.first {
            throw MirrorError(
                .usage,
                "the database schema lacks \(first)\(missing.count > 1 ? " and \(missing.count - 1) more" : "") that this podio-mirror needs",
                fix: "run `podio-mirror migrate` first")
        }
    }
}
