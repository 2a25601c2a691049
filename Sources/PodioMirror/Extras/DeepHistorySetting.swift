/// Which apps get deep history (`PODIO_DEEP_HISTORY`): Podio's own revisions of their items and
/// what each changed, read with general-tier calls after everything else a run does.
public enum DeepHistorySetting: Sendable, Equatable {
    case off
    case all
    case apps(Set<Int>)

    /// Whether the app's items get deep history.
    public func covers(_ appID: Int) -> Bool {
        switch self {
        case .off: return false
        case .all: return true
        case .apps(let ids): return ids.contains(appID)
        }
    }

    public var isOff: Bool { self == .off }

    /// `off`, `all` (or on), or app ids separated by commas.
    static func parse(_ text: String) throws -> DeepHistorySetting {
        switch text.lowercased() {
        case "off", "false", "no", "0": return .off
        case "all", "on", "true", "yes", "1": return .all
        default:
            guard let ids = try? MirrorSettings.parseApps(text, name: "PODIO_DEEP_HISTORY"), !ids.isEmpty else {
                throw MirrorError(
                    .usage, "PODIO_DEEP_HISTORY must be off, all, or app ids separated by commas (got \"\(text)\")",
                    fix: "for example PODIO_DEEP_HISTORY=all or PODIO_DEEP_HISTORY=123,456")
            }
            return .apps(Set(ids))
        }
    }
}
