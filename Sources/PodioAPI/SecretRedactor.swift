import Synchronization

/// Replaces every known secret (client secret, password, app tokens, access and refresh
/// tokens) in a text with `***`. The client passes every error text and log line through it.
public final class SecretRedactor: Sendable {
    private let secrets: Mutex<Set<String>>

    public init(_ initial: [String] = []) {
        secrets = Mutex(Set(initial.filter { $0.count >= 4 }))
    }

    /// Adds a secret learned at run time (a new token).
    public func add(_ secret: String) {
        guard secret.count >= 4 else { return }
        secrets.withLock { _ = $0.insert(secret) }
    }

    public func redact(_ text: String) -> String {
        let all = secrets.withLock { $0 }.sorted { $0.count > $1.count }
        var text = text
        for secret in all where text.contains(secret) {
            text = text.replacingOccurrences(of: secret, with: "***")
        }
        return text
    }
}
