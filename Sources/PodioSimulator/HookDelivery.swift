/// One form-encoded POST the simulator owes a hook's URL.
struct HookDelivery: Sendable {
    var hookID: Int
    /// The registered URL without its query string.
    var url: String
    /// Form fields in order: the event's, then the registered URL's query parameters.
    var fields: [(String, String)]
    var delayMilliseconds: Int = 0
    var isVerify: Bool = false

    var body: String {
        fields.map { "\(TextCoding.percentEncode($0.0))=\(TextCoding.percentEncode($0.1))" }.joined(separator: "&")
    }
}
