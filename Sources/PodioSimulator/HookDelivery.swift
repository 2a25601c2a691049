/// One POST the simulator owes a hook's URL.
struct HookDelivery: Sendable {
    var hookID: Int
    /// The registered URL without its query string.
    var url: String
    /// Form fields in order: the event's, then the registered URL's query parameters.
    var fields: [(String, String)]
    var delayMilliseconds: Int = 0
    var isVerify: Bool = false
    /// The body's encoding (a quirk; form by default).
    var format: PodioSimulator.HookBodyFormat = .form

    /// The multipart boundary (fixed: no field value the simulator sends contains it).
    static let boundary = "----PodioSimulatorBoundary7MA4YWxkTrZu0gW"

    var contentType: String {
        switch format {
        case .form: return "application/x-www-form-urlencoded"
        case .multipart: return "multipart/form-data; boundary=\(Self.boundary)"
        case .json: return "application/json"
        }
    }

    var body: String {
        switch format {
        case .form:
            return fields.map { "\(TextCoding.percentEncode($0.0))=\(TextCoding.percentEncode($0.1))" }
                .joined(separator: "&")
        case .multipart:
            let parts = fields.map { name, value in
                "--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
            }
            return parts.joined() + "--\(Self.boundary)--\r\n"
        case .json:
            var seen = Set<String>()
            var members: [JSONMember] = []
            for (name, value) in fields where seen.insert(name).inserted {
                let number = name.hasSuffix("_id") ? Int(value) : nil
                members.append(JSONMember(key: name, value: number.map(JSON.int) ?? .string(value)))
            }
            var out: [UInt8] = []
            JSONWriter.write(.object(members), into: &out)
            return String(decoding: out, as: UTF8.self)
        }
    }
}
