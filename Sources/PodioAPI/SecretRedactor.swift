import Foundation
import Synchronization

/// Replaces every known secret (client secret, password, app tokens, access and refresh
/// tokens) in a text with `***`. The client passes every error text and log line through it.
///
/// Secrets of any length are redacted, also in the encoded forms in which a server or proxy
/// could echo them: percent-encoded (URLs, form bodies) and JSON-escaped (string values).
///
/// How much of a text is replaced depends on the secret's length:
/// - From `anywhereLength` characters on, every occurrence goes, wherever it is: such a string
///   does not turn up in a message by chance, and a token glued to other text (`OAuth2abc…`, a
///   cut excerpt) must not survive.
/// - A shorter secret (a one-letter password, a 4-digit PIN) is replaced only where it stands
///   as a whole value: between two delimiters, each the start or end of the text, whitespace, a
///   control character, one of ``"'`=&?#,;:@/\()[]{}<>|``, or a `.` or `!` that ends a sentence
///   (followed by whitespace or the end). That is exactly how a value sits in a URL or form body
///   (`password=ab&`), a JSON string (`"ab"`), an argument list (`--password ab`), a header
///   (`OAuth2 ab`), user info (`user:ab@host`) or a sentence. Replacing every occurrence instead
///   would destroy the message: a password `a` would take every `a` of every word with it, and a
///   PIN `2024` every date of that year; `-`, `.`, `+` and `%` inside a run of characters are
///   not delimiters for the same reason (`2024-01-31`, `1.2.3`, `a+b`, `%20a`). The price: a
///   short secret fused into a longer run (`xaby` for `ab`) stays, but there it is not
///   recognizable as the secret either.
public final class SecretRedactor: Sendable {
    /// Secrets at least this long are replaced wherever they occur; shorter ones only as whole values.
    public static let anywhereLength = 8

    /// Each secret with its encoded forms, longest first (so a secret containing another is
    /// replaced whole).
    private let patterns: Mutex<[String]>
    private let known: Mutex<Set<String>>

    public init(_ initial: [String] = []) {
        patterns = Mutex([])
        known = Mutex([])
        for secret in initial { add(secret) }
    }

    /// Adds a secret learned at run time (a new token).
    public func add(_ secret: String) {
        guard !secret.isEmpty, known.withLock({ $0.insert(secret).inserted }) else { return }
        let forms = Self.forms(of: secret)
        patterns.withLock { patterns in
            for form in forms where !patterns.contains(form) { patterns.append(form) }
            patterns.sort { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
        }
    }

    public func redact(_ text: String) -> String {
        let all = patterns.withLock { $0 }
        var text = text
        for pattern in all where text.contains(pattern) {
            if pattern.count >= Self.anywhereLength {
                text = text.replacingOccurrences(of: pattern, with: "***")
            } else {
                text = Self.replaceWholeValues(of: pattern, in: text)
            }
        }
        return text
    }

    /// The secret as it could appear in a text: as is, percent-encoded (both `%20` and `+` for a
    /// space, upper- and lowercase hex), JSON-escaped (with and without `\/`).
    static func forms(of secret: String) -> [String] {
        var forms: [String] = [secret]
        let unreserved = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        if let encoded = secret.addingPercentEncoding(withAllowedCharacters: unreserved) {
            for form in [encoded, encoded.replacingOccurrences(of: "%20", with: "+")] {
                forms.append(form)
                forms.append(Self.lowercasedPercentEscapes(form))
            }
        }
        if let data = try? JSONSerialization.data(withJSONObject: [secret], options: [.fragmentsAllowed]) {
            // `["…"]`: the string literal between the brackets, without its quotes.
            let literal = String(String(decoding: data, as: UTF8.self).dropFirst(2).dropLast(2))
            let plain = literal.replacingOccurrences(of: "\\/", with: "/")
            forms.append(plain)
            forms.append(plain.replacingOccurrences(of: "/", with: "\\/"))
        }
        var seen = Set<String>()
        return forms.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    private static func lowercasedPercentEscapes(_ text: String) -> String {
        var out = ""
        var pending = 0
        for ch in text {
            if ch == "%" {
                pending = 2
                out.append(ch)
            } else if pending > 0 {
                pending -= 1
                out.append(Character(ch.lowercased()))
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// Replaces the occurrences of a short secret that stand as whole values (see the type's
    /// comment); the others are left alone.
    static func replaceWholeValues(of secret: String, in text: String) -> String {
        guard let first = secret.first, let last = secret.last else { return text }
        // A secret that begins (ends) with a delimiter delimits itself on that side.
        let needsStart = !delimiters.contains(first) && !first.isWhitespace
        let needsEnd = !delimiters.contains(last) && !last.isWhitespace
        var out = ""
        var cursor = text.startIndex
        var searchFrom = text.startIndex
        while searchFrom < text.endIndex, let range = text.range(of: secret, range: searchFrom..<text.endIndex) {
            let startsValue =
                !needsStart || range.lowerBound == text.startIndex
                || isDelimiter(at: text.index(before: range.lowerBound), in: text, leading: true)
            let endsValue =
                !needsEnd || range.upperBound == text.endIndex
                || isDelimiter(at: range.upperBound, in: text, leading: false)
            if startsValue && endsValue {
                out += text[cursor..<range.lowerBound]
                out += "***"
                cursor = range.upperBound
                searchFrom = range.upperBound
            } else {
                searchFrom = text.index(after: range.lowerBound)
            }
        }
        out += text[cursor...]
        return out
    }

    private static let delimiters: Set<Character> = [
        "\"", "'", "`", "=", "&", "?", "#", ",", ";", ":", "@", "/", "\\", "(", ")", "[", "]", "{", "}", "<", ">", "|",
    ]

    /// Whether the character at `index` ends the value before it (`leading` false) or starts
    /// the value after it (`leading` true).
    private static func isDelimiter(at index: String.Index, in text: String, leading: Bool) -> Bool {
        let c = text[index]
        if c.isWhitespace || delimiters.contains(c)
            || c.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .control })
        {
            return true
        }
        // A full stop or exclamation mark after the value, ending a sentence.
        guard !leading, c == "." || c == "!" else { return false }
        let next = text.index(after: index)
        return next == text.endIndex || text[next].isWhitespace
    }
}
