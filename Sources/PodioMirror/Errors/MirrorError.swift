/// An error of podio-mirror with a message for people: what failed, why, and what to do.
///
/// `category` decides the exit code and whether trying again later can help.
public struct MirrorError: Error, Sendable, CustomStringConvertible {
    public enum Category: Sendable, Equatable {
        /// Bad usage or configuration (exit 64).
        case usage
        /// Quota or run lock: try again later (exit 75).
        case deferred
        /// Podio refused the credentials (exit 77).
        case credentialsRefused
        /// Podio unavailable after retries (exit 69).
        case podioUnavailable
        /// A database error (exit 70).
        case database
        /// Anything else (exit 1).
        case other

        /// The documented exit code (README, "Exit codes").
        public var exitCode: Int32 {
            switch self {
            case .usage: 64
            case .deferred: 75
            case .credentialsRefused: 77
            case .podioUnavailable: 69
            case .database: 70
            case .other: 1
            }
        }

        /// True when the same run may succeed later without a change of configuration.
        public var isRetryable: Bool { self == .deferred || self == .podioUnavailable }
    }

    public var category: Category
    public var message: String
    public var fix: String?

    public init(_ category: Category, _ message: String, fix: String? = nil) {
        self.category = category
        self.message = message
        self.fix = fix
    }

    public var description: String {
        guard let fix else { return message }
        return "\(message); \(fix)"
    }
}
