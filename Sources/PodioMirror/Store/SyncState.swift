import Foundation

/// The checkpoint and marks of one app.
public struct SyncState: Sendable {
    public var highWaterMark: Date?
    public var lastFullSyncAt: Date?
    public var lastDeltaSyncAt: Date?
    public var fullPassRunID: Int64?
    public var fullPassCutoff: Date?
    public var fullPassOffset: Int = 0
    public var fullPassFiltered: Int?
    /// Podio's total less the mirror's live count after the last ID sweep, and when it ran.
    public var sweepGap: Int?
    public var sweptAt: Date?

    /// A full pass was started and not finished.
    public var hasUnfinishedFullPass: Bool { fullPassRunID != nil && fullPassCutoff != nil }
}
