import Foundation
import LibPQ
import PodioAPI

/// Keeps OAuth token pairs in `podio_auth.oauth_tokens`, so cron runs reuse them instead of
/// logging in each time. A refreshed pair replaces the old one in one statement (refresh tokens
/// rotate: the old one no longer works once Podio handed out the new one).
public struct PostgresTokenStore: TokenStore {
    let db: PGConnection

    public init(db: PGConnection) {
        self.db = db
    }

    public func load(identity: String) async throws -> OAuthToken? {
        try await db.run { db in
            guard
                let row = try db.query(
                    """
                    SELECT access_token, refresh_token, extract(epoch FROM expires_at)::float8 AS expires, ref_type, ref_id
                    FROM podio_auth.oauth_tokens WHERE credential = $1
                    """, [identity]
                ).first, let access = row.string("access_token"), let expires = row.double("expires")
            else { return nil }
            return OAuthToken(
                accessToken: access, refreshToken: row.string("refresh_token"), expiresAt: expires,
                refType: row.string("ref_type"), refID: row.int("ref_id"))
        }
    }

    public func save(_ token: OAuthToken, identity: String) async throws {
        _ = try await db.run { db in
            try db.query(
                """
                INSERT INTO podio_auth.oauth_tokens (credential, access_token, refresh_token, expires_at, ref_type, ref_id, updated_at)
                VALUES ($1, $2, $3, to_timestamp($4::float8), $5, $6, now())
                ON CONFLICT (credential) DO UPDATE SET access_token = EXCLUDED.access_token,
                    refresh_token = EXCLUDED.refresh_token, expires_at = EXCLUDED.expires_at,
                    ref_type = EXCLUDED.ref_type, ref_id = EXCLUDED.ref_id, updated_at = now()
                """, [identity, token.accessToken, token.refreshToken, token.expiresAt, token.refType, token.refID])
        }
    }

    /// Forgets the tokens of an identity (after Podio refused them for good).
    public func forget(identity: String) async throws {
        _ = try await db.run { db in try db.query("DELETE FROM podio_auth.oauth_tokens WHERE credential = $1", [identity]) }
    }
}
