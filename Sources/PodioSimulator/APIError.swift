/// A Podio error answer produced while handling an API call.
struct APIError: Error, Sendable {
    var status: Int
    var error: String
    var description: String
    var detail: String? = nil

    static func notFound(_ description: String) -> APIError {
        APIError(status: 404, error: "not_found", description: description)
    }

    static func noOperation(path: String) -> APIError {
        notFound("No matching operation could be found. The path '\(path)' was not found..")
    }

    static func invalidValue(_ description: String) -> APIError {
        APIError(status: 400, error: "invalid_value", description: description)
    }

    static func forbidden(_ description: String = "This token is not allowed to access this object") -> APIError {
        APIError(status: 403, error: "forbidden", description: description)
    }

    static func gone(_ description: String) -> APIError {
        APIError(status: 410, error: "gone", description: description)
    }

    /// The message Podio uses for a value of the wrong JSON type or out of range.
    static func badValue(_ value: JSON, _ rule: String) -> APIError {
        let shown: String
        switch value {
        case .string(let text): shown = "\"\(text)\""
        default: shown = String(decoding: value.bytes, as: UTF8.self)
        }
        return invalidValue("Invalid value \(shown) (\(value.typeName)): \(rule)")
    }
}
