import Foundation
import LibPQ

/// The files the extras download: what Podio described of each live file, less those not due.
public struct FileStore: StoreSlice {
    public let db: PGConnection

    public init(db: PGConnection) {
        self.db = db
    }

    /// A live file to download, as Podio described it.
    public struct FileToDownload: Sendable, Equatable {
        public var fileID: Int
        public var itemID: Int
        public var appID: Int
        public var name: String
        public var size: Int?
        /// Podio's `hosted_by` (podio, or e.g. google, dropbox) and `link`.
        public var hostedBy: String?
        public var link: String?
    }

    /// The live files of `apps` with their sizes as Podio gave them, for downloads, but for those
    /// whose download failed and is not due again at `now` and those recorded as not fetched
    /// (`podio.extra_failures`).
    public func liveFiles(apps: [Int], now: Date) throws -> [FileToDownload] {
        try db.query(
            """
            SELECT f.file_id, f.item_id, f.app_id, coalesce(f.name, '') AS name, f.size, f.raw->>'hosted_by' AS hosted_by,
                   coalesce(f.link, f.raw->>'link') AS link
            FROM podio.files AS f
            WHERE f.app_id = ANY ($1::bigint[]) AND f.deleted_at IS NULL
              AND \(ExtraFailureSQL.due(kind: "file", objectColumn: "f.file_id", nowParameter: "$2"))
            ORDER BY f.file_id
            """, [apps, now]
        ).rows.map {
            FileToDownload(
                fileID: $0.int("file_id") ?? 0, itemID: $0.int("item_id") ?? 0, appID: $0.int("app_id") ?? 0,
                name: $0.string("name") ?? "", size: $0.int("size"), hostedBy: $0.string("hosted_by"),
                link: $0.string("link"))
        }
    }
}
