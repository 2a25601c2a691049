import NIOCore

/// One HTTP answer and how to deliver it.
struct SimResponse: Sendable {
    enum Delivery: Sendable, Equatable {
        case normal
        /// Wait, then send normally.
        case delay(milliseconds: Int)
        /// Send the head with the full Content-Length and half the body, then close.
        case cutBody
        /// Send the head and a first part at once, the rest in pieces spread over this long.
        case slowBody(milliseconds: Int)
    }

    var status: Int
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    var delivery: Delivery = .normal
    /// Set on filter answers, so `missingItems` can serve the counts without items.
    var filterCounts: (total: Int, filtered: Int)? = nil
    /// Set on the answer of a hook creation when `HookFaults.verifyBeforeCreateAnswer` is on.
    var holdForVerify = false
    /// The answer is written only once this completes.
    var holdUntil: EventLoopFuture<Void>? = nil

    static func json(_ status: Int, _ body: [UInt8]) -> SimResponse {
        SimResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: body)
    }

    static func json(_ status: Int, _ value: JSON) -> SimResponse {
        json(status, value.bytes)
    }

    static let noContent = SimResponse(status: 204, headers: [], body: [])

    /// Podio's error body (§8.1).
    static func error(_ failure: APIError, request: SimRequest, baseURL: String) -> SimResponse {
        json(
            failure.status,
            .obj([
                "error": .string(failure.error),
                "error_description": .string(failure.description),
                "error_detail": .str(failure.detail),
                "error_parameters": .object([]),
                "error_propagate": .bool(false),
                "request": .obj([
                    "url": .string(baseURL + request.path),
                    "query_string": .string(request.query),
                    "method": .string(request.method),
                ]),
            ]))
    }

    /// A load balancer's HTML error page (no Podio headers, no JSON).
    static func htmlError(_ status: Int) -> SimResponse {
        let reason =
            status == 502 ? "Bad Gateway" : status == 503 ? "Service Temporarily Unavailable" : "Internal Server Error"
        let html =
            "<html>\r\n<head><title>\(status) \(reason)</title></head>\r\n<body>\r\n<center><h1>\(status) \(reason)</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        return SimResponse(status: status, headers: [("Content-Type", "text/html")], body: Array(html.utf8))
    }

    mutating func addHeader(_ name: String, _ value: String) {
        headers.append((name, value))
    }
}
