/// Decodes the HTML entities Podio puts in app names (`&amp;`, `&lt;`, `&#39;`, `&#x27;`, …).
public enum HTMLEntities {
    private static let named: [Substring: Character] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{00A0}",
    ]

    public static func decode(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            if let semi = after.prefix(12).firstIndex(of: ";") {
                let entity = after[..<semi]
                var decoded: Character?
                if let c = named[entity] {
                    decoded = c
                } else if entity.hasPrefix("#x") || entity.hasPrefix("#X"),
                    let v = UInt32(entity.dropFirst(2), radix: 16)
                {
                    decoded = Unicode.Scalar(v).map(Character.init)
                } else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()) {
                    decoded = Unicode.Scalar(v).map(Character.init)
                }
                if let decoded {
                    out.append(decoded)
                    rest = after[after.index(after: semi)...]
                    continue
                }
            }
            out.append("&")
            rest = after
        }
        return out + rest
    }
}
