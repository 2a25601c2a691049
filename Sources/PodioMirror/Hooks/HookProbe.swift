import Foundation

/// The harmless request `podio-mirror check --hook-url` sends to learn whether a public URL
/// reaches the receiver of `run --listen`: a form-encoded POST to `<base>/hooks/podio-mirror-check`
/// with `type=podio-mirror.check` and a random nonce, which the receiver answers 200 with
/// `podio-mirror hook receiver <nonce>` without touching the database (no event is queued, and
/// the hook secret is neither needed nor revealed). Any other server answers something else.
public enum HookProbe {
    /// The path after the base URL (the secret path is `/hooks/<64 hex digits>`: never this).
    public static let path = HookURL.prefix + "podio-mirror-check"
    /// The form's `type`.
    public static let type = "podio-mirror.check"
    /// The answer's text before the nonce.
    public static let answerPrefix = "podio-mirror hook receiver "

    /// 16 random hex digits.
    public static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// A nonce the receiver echoes: 8 to 64 hex digits (nothing else is ever echoed).
    public static func isValidNonce(_ nonce: String) -> Bool {
        (8...64).contains(nonce.count) && nonce.allSatisfy { $0.isHexDigit && $0.isASCII }
    }

    /// The probe's body.
    public static func body(nonce: String) -> String { "type=\(type)&nonce=\(nonce)" }

    /// The receiver's answer to a valid probe.
    public static func answer(nonce: String) -> String { answerPrefix + nonce }

    /// True when the path is the probe's (a reverse proxy may keep a prefix of its own).
    public static func matches(path: String) -> Bool { path.hasSuffix(Self.path) }
}
