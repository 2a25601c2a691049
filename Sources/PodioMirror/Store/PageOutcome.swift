import Foundation

/// A value the typed columns could not read.
public struct UnreadableValue: Sendable, Equatable {
    public var itemID: Int
    public var fieldID: Int
    public var type: String
}

/// What writing one page did.
public struct PageOutcome: Sendable {
    public var seen: Int
    public var inserted: Int
    public var updated: Int
    public var unchanged: Int
    public var activityRefreshed: Int
    public var unknownFieldIDs: [Int]
    public var unreadable: [UnreadableValue]
    /// Changed items without a title.
    public var untitled: [Int] = []
    /// Changed items that no hook delivered although the app had active hooks (reconciliation).
    public var missedByHooks: Int = 0

    public var written: Int { inserted + updated }
}

/// Which changes a reconciliation counts as missed by hooks: edited from `since` (the hooks
/// became active) and before `before` (deliveries still on their way are not missed yet).
public struct HookWatch: Sendable {
    public var since: Date
    public var before: Date

    public init(since: Date, before: Date) {
        self.since = since
        self.before = before
    }
}
