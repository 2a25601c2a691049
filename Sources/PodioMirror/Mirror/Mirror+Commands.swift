import Foundation
import LibPQ
import Logging
import PodioAPI

/// What the one-shot commands read and write: the schema, `status`, `tables`, `dbt-sources`,
/// `login`'s tokens and the deferrals `sync` counts.
extension Mirror {
    /// Creates or upgrades the schema (`migrate`).
    public func migrate() async throws -> SchemaMigrator.Outcome {
        let logger = self.logger
        return try await run { try SchemaMigrator.migrate($0, logger: logger) }
    }

    /// Throws, with the fix, unless the schema is the one this version needs.
    public func requireCurrentSchema() async throws {
        try await run { try SchemaMigrator.requireCurrent($0) }
    }

    /// `status`: the whole report, with the apps' item counts.
    public func status() async throws -> MirrorStatus {
        let settings = self.settings
        let now = clock.now()
        return try await run { db in
            try SchemaMigrator.requireCurrent(db)
            return try MirrorStatus.load(
                db, policy: settings.quota, appsRefresh: settings.appsRefresh, now: now,
                deepHistory: settings.deepHistory, reconcileInterval: settings.reconcileInterval)
        }
    }

    /// `tables`: every app table brought in step with its stored fields, in one transaction.
    public func reconcileTables() async throws -> [(appID: Int, table: String, report: AppTableStore.Report)] {
        let logger = self.logger
        return try await run { db in
            try SchemaMigrator.requireCurrent(db)
            return try db.withTransaction { db in try AppTableStore(db: db, logger: logger).reconcileAll() }
        }
    }

    /// `dbt-sources`: the app tables and their columns, described.
    public func dbtSources(every: Double?) async throws -> DbtSources {
        try await run { db in
            try SchemaMigrator.requireCurrent(db)
            return try DbtSources.load(db, every: every)
        }
    }

    /// The statuses of the latest runs of a kind, newest first (`sync`'s deferrals in a row).
    public func latestRunStatuses(kind: String, limit: Int) async throws -> [RunStatus?] {
        try await run { try MirrorStore(db: $0).runs.latestRunStatuses(kind: kind, limit: limit) }
    }

    /// `login`: exchanges the authorization code for tokens, stored in the database for the
    /// identity the client names.
    public func exchangeLoginCode(
        _ code: String, redirectURI: String, apiKey: PodioAPIKey, transport: any HTTPTransport
    ) async throws -> (token: OAuthToken, identity: String) {
        let (settings, logger) = (self.settings, self.logger)
        return try await pool.withConnection { db in
            let client = PodioClient(
                configuration: PodioClient.Configuration(apiURL: settings.apiURL, apiKey: apiKey, credentials: .stored),
                transport: transport, tokenStore: PostgresTokenStore(db: db), logger: logger)
            return (try await client.exchange(code: code, redirectURI: redirectURI), client.identity)
        }
    }
}
