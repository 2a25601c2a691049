import Foundation

/// One HTTP request as the simulator sees it.
struct SimRequest: Sendable {
    var method: String
    /// Percent-encoded path as sent, without the query.
    var path: String
    /// The raw query string (no leading '?').
    var query: String
    /// Header names lowercased, in order.
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init(method: String, uri: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            query = String(uri[uri.index(after: mark)...])
        } else {
            path = uri
            query = ""
        }
        self.headers = headers.map { (name: $0.name.lowercased(), value: $0.value) }
        self.body = body
    }

    /// The last value of a header (case-insensitive name).
    func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.last(where: { $0.name == lowered })?.value
    }

    /// Query parameters in order; nil when the query is malformed.
    var queryItems: [(String, String)]? {
        TextCoding.parseForm(query)
    }

    /// The last value of a query parameter.
    func queryValue(_ name: String) -> String? {
        queryItems?.last(where: { $0.0 == name })?.1
    }

    /// Media type of the body, lowercased, without parameters.
    var contentType: String {
        let raw = header("content-type") ?? ""
        return String(raw.split(separator: ";").first ?? "").trimmingCharacters(in: .whitespaces).lowercased()
    }
}
