import Foundation

/// A webhook delivery's body as fields, whatever encoding Podio used. No source states Podio's
/// content type (reference §12, third review): the official clients read `$_POST[...]` /
/// `Request["type"]`, which `application/x-www-form-urlencoded` and `multipart/form-data` both
/// fill, so both are read, and JSON too. Values come as strings (a JSON number is its digits).
struct HookPayload: Sendable, Equatable {
    /// The encoding: `form`, `multipart` or `json`.
    var format: String
    var fields: [String: String]

    /// Why a body could not be read (shown to the operator; never a value of the body).
    enum Failure: Error, Equatable {
        case unsupported(String)
        case malformed(String)
    }

    /// Reads `body` by its content type; without one, by its look (`{` JSON, else a form).
    static func parse(contentType: String?, body: String) throws(Failure) -> HookPayload {
        let type = (contentType ?? "").lowercased()
        let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        switch media {
        case "application/x-www-form-urlencoded":
            return HookPayload(format: "form", fields: parseForm(body))
        case "multipart/form-data":
            guard let boundary = parameter("boundary", of: contentType ?? ""), !boundary.isEmpty else {
                throw .malformed("a multipart body without a boundary")
            }
            guard let fields = parseMultipart(body, boundary: boundary) else {
                throw .malformed("a multipart body that does not parse")
            }
            return HookPayload(format: "multipart", fields: fields)
        case "application/json", "text/json":
            return try json(body)
        case _ where media.hasSuffix("+json"):
            return try json(body)
        case "":
            let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.hasPrefix("{") { return try json(trimmed) }
            return HookPayload(format: "form", fields: parseForm(trimmed))
        default:
            throw .unsupported(media)
        }
    }

    private static func json(_ body: String) throws(Failure) -> HookPayload {
        guard let object = try? JSONDecoder().decode([String: Scalar].self, from: Data(body.utf8)) else {
            throw .malformed("a JSON body that is not an object")
        }
        return HookPayload(format: "json", fields: object.compactMapValues(\.text))
    }

    /// A JSON value as an event field: a string, or an integer's digits; anything else (a
    /// boolean, a fraction, null, an array, an object) is not one of Podio's event fields.
    private struct Scalar: Decodable {
        var text: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) {
                text = string
            } else if (try? container.decode(Bool.self)) != nil {
                text = nil
            } else if let number = try? container.decode(Int64.self) {
                text = String(number)
            } else {
                text = nil
            }
        }
    }

    /// `application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte; the first value of a
    /// repeated name wins.
    static func parseForm(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String? {
                s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
            guard let name = parts.first.flatMap(decode) else { continue }
            let value = parts.count > 1 ? decode(parts[1]) ?? "" : ""
            if out[name] == nil { out[name] = value }
        }
        return out
    }

    /// `multipart/form-data` (RFC 7578): parts between `--boundary` lines, each named by its
    /// `Content-Disposition`; the first value of a repeated name wins. Nil when no part closes.
    static func parseMultipart(_ text: String, boundary: String) -> [String: String]? {
        let delimiter = "--" + boundary
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        guard normalized.contains(delimiter + "--") else { return nil }
        var out: [String: String] = [:]
        for chunk in normalized.components(separatedBy: delimiter).dropFirst() {
            if chunk.hasPrefix("--") { break }
            guard let split = chunk.range(of: "\n\n") else { continue }
            let headers = chunk[..<split.lowerBound]
            var value = String(chunk[split.upperBound...])
            if value.hasSuffix("\n") { value.removeLast() }
            guard
                let disposition = headers.split(separator: "\n").first(where: {
                    $0.lowercased().hasPrefix("content-disposition:")
                }), let name = parameter("name", of: String(disposition))
            else { continue }
            if out[name] == nil { out[name] = value }
        }
        return out
    }

    /// A `name=value` or `name="value"` parameter of a header value.
    static func parameter(_ name: String, of header: String) -> String? {
        for part in header.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            return value
        }
        return nil
    }
}
