extension PodioSimulator {
    /// A fault to inject into API calls (never into `/_sim/` or `/oauth/` calls).
    public enum Fault: Sendable, Equatable {
        /// 500/502/503 with an HTML body, like a load balancer page.
        case serverError
        /// Waits, then sends the normal answer.
        case delay(milliseconds: Int)
        /// Headers with the full Content-Length, half the body, then the connection is closed.
        case cutBody
        /// Headers and the first bytes at once, the rest of the body trickled out over this long
        /// (a byte every few milliseconds): no idle gap, but slower than a request timeout.
        case slowBody(milliseconds: Int)
        /// A complete HTTP 200 whose body is a prefix of the JSON (Content-Length matches the prefix).
        case truncatedJSON
        /// The presented access token expires now: 401 expired_token.
        case expireToken
        /// 420 with Podio's rate_limit body.
        case rateLimit
        /// Item filter answers 200 with a body that is not JSON (only filter calls take it).
        case invalidPage
        /// Item filter answers 200 with total and filtered but no items (only filter calls take it).
        case missingItems

        /// The control API's name of the kind.
        var kindName: String {
            switch self {
            case .serverError: return "server_error"
            case .delay: return "delay"
            case .cutBody: return "cut_body"
            case .slowBody: return "slow_body"
            case .truncatedJSON: return "truncated_json"
            case .expireToken: return "expire_token"
            case .rateLimit: return "rate_limit"
            case .invalidPage: return "invalid_page"
            case .missingItems: return "missing_items"
            }
        }

        /// Whether only item filter calls take this fault.
        var filterOnly: Bool {
            self == .invalidPage || self == .missingItems
        }
    }
}
