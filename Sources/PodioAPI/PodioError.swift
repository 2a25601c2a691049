import Foundation

/// An error answered by Podio (or the way to it), classified for the caller.
///
/// The description carries the HTTP status, Podio's `error` code and description and the
/// request id, and never a secret: texts are redacted by the client before they get here.
public struct PodioError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// 5xx, timeouts, connections reset, truncated or malformed bodies: retry with backoff.
        case retryable
        /// HTTP 420: the identity is out of quota.
        case rateLimited
        /// 401/403 after a token refresh: the token or its rights are not accepted.
        case auth
        /// Podio refused the credentials (`invalid_grant`, wrong client secret): fatal.
        case credentialsRefused
        /// 404.
        case notFound
        /// 410.
        case gone
        /// Other 4xx: the request itself is wrong.
        case invalidRequest
    }

    public var kind: Kind
    /// What was called, e.g. `POST /item/app/{app_id}/filter/`.
    public var endpoint: String
    public var status: Int?
    /// Podio's machine code (`error`), e.g. `rate_limit`, `invalid_grant`.
    public var code: String?
    /// Podio's `error_description`, or a transport message.
    public var detail: String
    public var requestID: String?
    /// Seconds to wait that a 420's text named.
    public var retryAfterSeconds: Int?
    /// How many attempts were made.
    public var attempts: Int

    public init(
        kind: Kind, endpoint: String, status: Int? = nil, code: String? = nil, detail: String,
        requestID: String? = nil, retryAfterSeconds: Int? = nil, attempts: Int = 1
    ) {
        self.kind = kind
        self.endpoint = endpoint
        self.status = status
        self.code = code
        self.detail = detail
        self.requestID = requestID
        self.retryAfterSeconds = retryAfterSeconds
        self.attempts = attempts
    }

    public var isRetryable: Bool { kind == .retryable }

    /// Podio does not have the object (404) or no longer has it (410): an item, a comment, a
    /// file or a revision is gone. A 403 is not: the object may be there, hidden from these
    /// credentials.
    public var isGone: Bool { kind == .notFound || kind == .gone }

    /// Podio refuses the app to these credentials (403) or does not have it (404, 410): for an
    /// app (its hooks, say) either way it is not the mirror's to read.
    public var isRefusedOrGone: Bool { [403, 404, 410].contains(status ?? 0) }

    /// The app is gone for these credentials: a 403, 404 or 410 on its definition or its items
    /// (a 401 is the credentials', not the app's).
    public var meansAppGone: Bool {
        isRefusedOrGone && (endpoint == PodioEndpoint.app.name || endpoint == PodioEndpoint.filterItems.name)
    }

    /// `code` of the error for stored-token credentials (`podio-mirror login`) when no token was
    /// ever stored: a configuration gap, not a refusal by Podio.
    public static let noStoredTokenCode = "no_stored_token"

    /// `code` of the error for a password grant Podio answered with a two-step verification
    /// challenge (200 with a `server_nonce` and no token): a second factor no unattended run can
    /// give. Not retryable: app authentication or the login flow must be used instead.
    public static let twoStepVerificationCode = "two_step_verification"

    public var description: String {
        var text = "Podio \(endpoint)"
        if let status { text += " answered \(status)" } else { text += " failed" }
        if let code { text += " \(code)" }
        if !detail.isEmpty { text += ": \(detail)" }
        if let requestID { text += " (request \(requestID))" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        return text
    }

    /// Classifies an HTTP status and Podio's error code.
    static func kind(status: Int, code: String?) -> Kind {
        switch status {
        case 420, 429: .rateLimited
        case 401, 403: .auth
        case 404: .notFound
        case 410: .gone
        case 500...599: .retryable
        case 400 where code == "invalid_grant" || code == "invalid_client": .credentialsRefused
        default: .invalidRequest
        }
    }

    /// The number of seconds in a text such as "Please wait 300 seconds before trying again".
    static func waitSeconds(in text: String) -> Int? {
        let words = text.split(whereSeparator: { !$0.isNumber && !$0.isLetter })
        for (i, word) in words.enumerated() where i + 1 < words.count {
            if let n = Int(word), words[i + 1].lowercased().hasPrefix("sec") { return n }
        }
        return nil
    }
}
