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
            if let installed, installed == currentVersion { return .upToDate(version: installed) }
            if let installed, installed > currentVersion {
                throw MirrorError(
                    .database,
                    "the database schema is version \(installed), newer than this podio-mirror understands (\(currentVersion))",
                    fix: "upgrade podio-mirror, or point DATABASE_URL at another database")
            }
            logger.debug("applying schema", metadata: ["from": "\(installed.map(String.init) ?? "none")", "to": "\(currentVersion)"])
            do {
                try db.execute(script)
            } catch let error as PGError where error.sqlState == "2BP01" {
                throw MirrorError(
                    .database,
                    "the upgrade drops podio-mirror's old views and podio.item_values, and objects of yours depend on them",
                    fix: "drop those objects (PostgreSQL names them: \(error.detail ?? error.message)), run `podio-mirror migrate`, "
                        + "then recreate them on the app tables in podio_apps")
            }
            // Steps SQL alone cannot take: every app's table, created and filled from the raw
            // JSON (from version 1, whose values were in podio.item_values), no call to Podio.
            let tables = try AppTableStore(db: db, logger: logger).reconcileAll()
            if !tables.isEmpty {
                logger.info("app tables in step", metadata: ["tables": "\(tables.map { "podio_apps.\($0.table)" })"])
            }
            return .applied(from: installed, to: currentVersion)
        }
    }

    /// The schema version recorded in the database, or nil when it has none.
    public static func installedVersion(_ db: PGConnection) throws -> Int? {
        let exists = try db.query("SELECT to_regclass('podio.schema_version') IS NOT NULL AS present").first?.bool("present")
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
    }
}
