import LibPQ
import Logging

/// Builds one typed view per mirrored app in schema `podio_views` (placeholder: the views
/// issue fills this in).
public struct ViewBuilder: Sendable {
    let db: PGConnection
    let logger: Logger

    public init(db: PGConnection, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// (Re)creates the view of one app; returns its name. Synchronous: call inside `PGConnection.run`.
    @discardableResult
    public func rebuild(appID: Int) throws -> String? {
        nil
    }

    /// (Re)creates the views of every mirrored app; returns their names.
    @discardableResult
    public func rebuildAll() throws -> [String] {
        []
    }
}
