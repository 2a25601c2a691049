import Foundation

/// An object of the extras (an item's comments, a file download, an item's deep history) that
/// could not be read, as `podio.extra_failures` records it: the stage went on with the next
/// object, and a later run tries this one again once `nextTryAt` has passed.
public struct ExtraFailure: Codable, Sendable, Equatable {
    /// What failed: the value of `podio.extra_failures.kind`.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// The comments of an item (`object_id` is the item).
        case comments
        /// A file download (`object_id` is the file).
        case file
        /// The deep history of an item: its list of revisions or a diff (`object_id` is the item).
        case revisions
    }

    public var kind: Kind
    public var objectID: Int
    public var itemID: Int
    public var appID: Int
    /// Failed attempts in a row; 0 for a file not fetched by choice (hosted elsewhere).
    public var attempts: Int
    public var lastError: String
    public var firstFailedAt: Date?
    public var lastFailedAt: Date?
    /// When a run tries it again; nil: never (a file hosted elsewhere than Podio).
    public var nextTryAt: Date?

    /// Per-object failures in a row after which a stage of the extras stops for the run (Podio
    /// failing for every object looks like an outage, not like one bad object).
    static let stopAfterInARow = 5

    /// The wait before the next try after `attempts` failures in a row: 10 minutes, doubled per
    /// attempt, at most a day.
    public static func backoff(attempts: Int) -> Double {
        let doublings = max(0, min(attempts - 1, 16))
        return min(600 * Double(1 << doublings), 86_400)
    }

    /// "comments of item 12", "file 34 of item 12", "deep history of item 12".
    public var subject: String {
        switch kind {
        case .comments: "comments of item \(itemID)"
        case .file: "file \(objectID) of item \(itemID)"
        case .revisions: "deep history of item \(itemID)"
        }
    }
}
