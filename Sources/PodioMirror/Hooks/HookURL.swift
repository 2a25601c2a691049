import Foundation

/// The hook URL: the public base URL given to `hooks install`, then `/hooks/`, then the secret
/// path segment (64 hex digits from the system's cryptographic random source, made once and
/// stored in `podio_auth.hook_secret`). Podio signs nothing, so the secret is what the receiver
/// checks; it is redacted wherever a URL is shown.
public enum HookURL {
    /// The path segment before the secret.
    public static let prefix = "/hooks/"
    /// What replaces the secret in anything shown.
    public static let placeholder = "<secret>"

    /// 32 bytes from `SystemRandomNumberGenerator` (getrandom(2) on Linux), as hex.
    public static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// The URL Podio posts to.
    public static func full(base: String, secret: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base + prefix + secret
    }

    /// `text` with the secret replaced by `<secret>`.
    public static func redact(_ text: String, secret: String?) -> String {
        guard let secret, !secret.isEmpty else { return text }
        return text.replacingOccurrences(of: secret, with: placeholder)
    }

    /// Whether a URL Podio lists is one of the mirror's: it holds the secret path segment
    /// (whatever Podio did to the rest of it: a trailing slash, the host's case, a default port).
    public static func holdsSecret(_ url: String, secret: String) -> Bool {
        !secret.isEmpty && url.lowercased().contains((prefix + secret).lowercased())
    }

    /// The base of a URL Podio lists (the part before `/hooks/<secret>`), nil when the secret is
    /// not in it.
    public static func base(of url: String, secret: String) -> String? {
        guard !secret.isEmpty, let range = url.range(of: prefix + secret, options: .caseInsensitive) else {
            return nil
        }
        return String(url[..<range.lowerBound])
    }

    /// Whether two base URLs name the same place as Podio could store them: scheme and host
    /// compared without case, a default port (80, 443) the same as none, trailing slashes of the
    /// path ignored; the path itself compared exactly.
    public static func sameBase(_ a: String, _ b: String) -> Bool {
        canonical(a) == canonical(b)
    }

    static func canonical(_ text: String) -> String {
        guard var components = URLComponents(string: text.trimmingCharacters(in: .whitespaces)) else { return text }
        let scheme = components.scheme?.lowercased()
        components.scheme = scheme
        components.host = components.host?.lowercased()
        if (scheme == "http" && components.port == 80) || (scheme == "https" && components.port == 443) {
            components.port = nil
        }
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        components.percentEncodedPath = path
        return components.string ?? text
    }

    /// Checks a base URL: http(s), a host, no query or fragment (Podio moves a query string
    /// into the POST body), no user or password.
    public static func validate(base text: String) throws -> String {
        let base = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = url.host, !host.isEmpty
        else {
            throw MirrorError(
                .usage, "--url must be the public http(s) URL that reaches `run --listen`",
                fix: "for example --url https://mirror.example.com (Podio only calls ports 80 and 443)")
        }
        if url.query != nil || url.fragment != nil || url.user != nil || url.password != nil {
            throw MirrorError(
                .usage, "--url must have no query string, fragment, user or password",
                fix: "give the base URL only; podio-mirror adds /hooks/ and a secret path segment")
        }
        return base
    }
}
