import LibPQ

/// The type of a webhook event, as Podio names it (reference §7.3) and `podio.hook_events.type`
/// stores it. Podio's list is open (a type the mirror does not know is kept as sent and left
/// alone), so this is a name with the known ones as constants, not a closed enum.
public struct HookEventType: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Podio asks the receiver to prove it owns the URL (`verify/validate` with the code).
    public static let verify: HookEventType = "hook.verify"
    public static let itemCreate: HookEventType = "item.create"
    public static let itemUpdate: HookEventType = "item.update"
    public static let itemDelete: HookEventType = "item.delete"
    public static let commentCreate: HookEventType = "comment.create"
    public static let commentDelete: HookEventType = "comment.delete"
    public static let fileChange: HookEventType = "file.change"
    public static let appUpdate: HookEventType = "app.update"
    public static let appDelete: HookEventType = "app.delete"

    /// The types Podio posts to app hooks, and the only ones the receiver accepts.
    public static let posted: Set<HookEventType> = [
        .verify, .itemCreate, .itemUpdate, .itemDelete, .commentCreate, .commentDelete, .fileChange, .appUpdate,
        .appDelete,
    ]

    /// The types `hooks install` registers on every app (comment types only when comments are
    /// mirrored). `file.change` always: file metadata is written from every item read, and
    /// downloads (`PODIO_FILES`) follow it.
    public static func registered(comments: Bool) -> [HookEventType] {
        [.itemCreate, .itemUpdate, .itemDelete, .appUpdate, .fileChange]
            + (comments ? [.commentCreate, .commentDelete] : [])
    }

    /// An event about one item (its fields, its comments or its files): it must name the item.
    public var namesItem: Bool {
        rawValue.hasPrefix("item.") || rawValue.hasPrefix("comment.") || self == .fileChange
    }

    /// An event about the app itself (`app.update`, `app.delete`).
    public var isAppEvent: Bool { rawValue.hasPrefix("app.") }

    public var description: String { rawValue }
}

extension HookEventType: PGEncodable {
    /// The stored word (`podio.hook_events.type`).
    public var pgText: String { rawValue }
}
