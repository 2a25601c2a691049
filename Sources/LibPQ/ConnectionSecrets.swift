import CLibPQ
import Foundation

/// The secrets of a connection string, so that messages built from it can be redacted.
///
/// libpq echoes parts of a malformed connection string in its error messages (for example
/// `invalid URI query parameter` or `missing "=" after …`), and those parts can include the
/// password. Every message that leaves `PGConnection` goes through `redact(_:)`.
struct ConnectionSecrets: Sendable {
    private let secrets: [String]

    init(connectionString: String?) {
        guard let connectionString, !connectionString.isEmpty else {
            secrets = []
            return
        }
        var found: [String] = []
        // libpq's own parser, when the string parses.
        var errorMessage: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(connectionString, &errorMessage) {
            var cursor = options
            while let keyword = cursor.pointee.keyword {
                if String(cString: keyword) == "password", let value = cursor.pointee.val {
                    found.append(String(cString: value))
                }
                cursor = cursor.advanced(by: 1)
            }
            PQconninfoFree(options)
        }
        if let errorMessage { PQfreemem(errorMessage) }
        // A hand-written fallback for strings libpq refuses: `scheme://user:PASSWORD@host`
        // and `password=VALUE` / `password='VALUE'`.
        if let schemeEnd = connectionString.range(of: "://") {
            let rest = connectionString[schemeEnd.upperBound...]
            if let at = rest.lastIndex(of: "@") {
                let userInfo = rest[..<at]
                if let colon = userInfo.firstIndex(of: ":") {
                    let password = String(userInfo[userInfo.index(after: colon)...])
                    found.append(password)
                    if let decoded = password.removingPercentEncoding { found.append(decoded) }
                }
            }
            if let query = rest.firstIndex(of: "?") {
                for pair in rest[rest.index(after: query)...].split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    if parts.count == 2, parts[0] == "password" {
                        found.append(String(parts[1]))
                        if let decoded = String(parts[1]).removingPercentEncoding { found.append(decoded) }
                    }
                }
            }
        }
        var search = connectionString[...]
        while let range = search.range(of: "password") {
            var i = range.upperBound
            while i < search.endIndex, search[i] == " " { i = search.index(after: i) }
            guard i < search.endIndex, search[i] == "=" else {
                search = search[range.upperBound...]
                continue
            }
            i = search.index(after: i)
            while i < search.endIndex, search[i] == " " { i = search.index(after: i) }
            var value = ""
            if i < search.endIndex, search[i] == "'" {
                i = search.index(after: i)
                while i < search.endIndex, search[i] != "'" {
                    value.append(search[i])
                    i = search.index(after: i)
                }
            } else {
                while i < search.endIndex, search[i] != " ", search[i] != "&" {
                    value.append(search[i])
                    i = search.index(after: i)
                }
            }
            found.append(value)
            search = search[i...]
        }
        // Longest first, so a secret that contains another is replaced whole.
        secrets = Array(Set(found.filter { !$0.isEmpty })).sorted { $0.count > $1.count }
    }

    /// The text with every known secret replaced by `***`.
    func redact(_ text: String) -> String {
        var text = text
        for secret in secrets { text = text.replacingOccurrences(of: secret, with: "***") }
        return text
    }
}
