import Foundation

/// A webhook URL checked the way Podio states its rule: http or https, port 80 or 443, a public
/// host. With `Configuration.allowLoopbackHooks`, loopback hosts on any port pass too (tests and
/// the bench). The query string is moved into the POST body at delivery.
struct HookURL: Sendable, Equatable {
    /// The URL without its query string.
    var target: String
    /// The query parameters, in order.
    var query: [(String, String)]
    /// Whether the host is loopback (the only hosts the simulator ever calls).
    var isLoopback: Bool

    static func == (lhs: HookURL, rhs: HookURL) -> Bool {
        lhs.target == rhs.target && lhs.isLoopback == rhs.isLoopback
            && lhs.query.elementsEqual(rhs.query, by: { $0 == $1 })
    }

    static func parse(_ text: String, allowLoopback: Bool) throws(APIError) -> HookURL {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw APIError.badValue(.string(text), "must be a valid http or https URL")
        }
        let loopback = isLoopback(host)
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        if loopback || isPrivate(host) {
            guard allowLoopback && loopback else {
                throw APIError.badValue(.string(text), "must be a publicly reachable URL")
            }
        } else if port != 80 && port != 443 {
            throw APIError.badValue(.string(text), "must use port 80 or 443")
        }
        var query: [(String, String)] = []
        if let raw = components.percentEncodedQuery {
            guard let pairs = TextCoding.parseForm(raw) else {
                throw APIError.badValue(.string(text), "has a malformed query string")
            }
            query = pairs
        }
        var bare = components
        bare.percentEncodedQuery = nil
        bare.fragment = nil
        guard let target = bare.string else {
            throw APIError.badValue(.string(text), "must be a valid http or https URL")
        }
        return HookURL(target: target, query: query, isLoopback: loopback)
    }

    static func isLoopback(_ host: String) -> Bool {
        let lowered = host.lowercased()
        return lowered == "localhost" || lowered == "::1" || lowered == "[::1]" || lowered.hasPrefix("127.")
    }

    /// RFC 1918 and link-local IPv4 literals, `.local` names: not publicly reachable.
    static func isPrivate(_ host: String) -> Bool {
        let lowered = host.lowercased()
        if lowered.hasSuffix(".local") || lowered == "0.0.0.0" { return true }
        let octets = lowered.split(separator: ".").compactMap { Int($0) }
        guard octets.count == 4 else { return false }
        switch (octets[0], octets[1]) {
        case (10, _), (192, 168), (169, 254): return true
        case (172, 16...31): return true
        default: return false
        }
    }
}

extension HookURL {
    /// The URL as a server that normalises what it stores could keep it: scheme and host in
    /// lower case, a default port dropped, a trailing slash added to the path (the quirk
    /// `hookURLNormalized`). A URL that does not parse is kept as given.
    static func normalized(_ text: String) -> String {
        guard var components = URLComponents(string: text) else { return text }
        let scheme = components.scheme?.lowercased()
        components.scheme = scheme
        components.host = components.host?.lowercased()
        if (scheme == "http" && components.port == 80) || (scheme == "https" && components.port == 443) {
            components.port = nil
        }
        if !components.percentEncodedPath.hasSuffix("/") { components.percentEncodedPath += "/" }
        return components.string ?? text
    }

    /// Whether a URL (as sent) points at a loopback host.
    static func isLoopback(hostOf url: String) -> Bool {
        guard let components = URLComponents(string: url), let host = components.host else { return false }
        return isLoopback(host)
    }
}
