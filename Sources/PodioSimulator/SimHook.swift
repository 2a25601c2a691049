/// One webhook registered on an app.
struct SimHook: Sendable {
    /// The types Podio documents for `ref_type=app` (reference §7.3); form.* are not served.
    static let appTypes: [String] = [
        "item.create", "item.update", "item.delete", "comment.create", "comment.delete", "file.change", "app.update",
        "app.delete",
    ]
    /// Podio's documented limit of hooks of one type per object.
    static let maxPerType = 10

    var id: Int
    var appID: Int
    var type: String
    var url: String
    var parsedURL: HookURL
    var createdOn: Int
    var active = false
    var code: String
    var deleted = false
    var verifications = 0
    var delivered = 0
    var failed = 0
    var dropped = 0
    var duplicated = 0
    var suppressed = 0
    var consecutiveFailures = 0

    var info: PodioSimulator.HookInfo {
        PodioSimulator.HookInfo(
            hookID: id, appID: appID, type: type, url: url, status: active ? "active" : "inactive", code: code,
            deleted: deleted, verifications: verifications, delivered: delivered, failed: failed, dropped: dropped,
            duplicated: duplicated, suppressed: suppressed, consecutiveFailures: consecutiveFailures)
    }
}
