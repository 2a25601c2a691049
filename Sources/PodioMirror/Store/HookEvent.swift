import Foundation

/// One event Podio posted to the receiver, as queued in `podio.hook_events`.
public struct HookEvent: Sendable, Equatable {
    public var eventID: Int64 = 0
    /// The hook the delivery named; 0 when it named none (Podio does not say that every event
    /// carries `hook_id`): the app then comes from what the mirror knows of the item or app.
    public var hookID: Int
    /// The hook's app (from `podio.hooks`), nil for a hook the mirror did not know yet.
    public var appID: Int?
    public var type: HookEventType
    public var itemID: Int?
    public var itemRevisionID: Int?
    public var commentID: Int?
    public var externalID: String?
    /// The app a hook-less `app.update`/`app.delete` named: taken only when the mirror has hooks
    /// on that app (the payload alone never decides an event's app).
    public var namedAppID: Int?
    /// A `hook.verify`'s code.
    public var code: String?
    public var receivedAt: Date?
    public var attempts: Int = 0

    public init(
        hookID: Int, type: HookEventType, itemID: Int? = nil, itemRevisionID: Int? = nil, commentID: Int? = nil,
        externalID: String? = nil,
        code: String? = nil, appID: Int? = nil
    ) {
        self.hookID = hookID
        self.type = type
        self.itemID = itemID
        self.itemRevisionID = itemRevisionID
        self.commentID = commentID
        self.externalID = externalID
        self.code = code
        self.appID = appID
    }
}
