/// Lines of YAML, two spaces a level, and the quoting that keeps Podio's names (quotes, colons,
/// backslashes, control characters, any script) intact: every text is a double-quoted scalar
/// with JSON-style escapes, which YAML reads back exactly.
struct YAMLWriter {
    private(set) var text = ""

    mutating func line(_ level: Int, _ content: String) {
        text += content.isEmpty ? "\n" : String(repeating: "  ", count: level) + content + "\n"
    }

    mutating func comment(_ content: String) {
        text += "# " + content + "\n"
    }

    /// A YAML double-quoted scalar. Characters YAML forbids or would fold (C0 and C1 controls,
    /// DEL, line and paragraph separators, byte order marks) are escaped; the rest is kept.
    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                let v = scalar.value
                if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 || v == 0xFEFF || v == 0xFFFE
                    || v == 0xFFFF
                {
                    let hex = String(v, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// dbt renders descriptions with Jinja: a text that would open a Jinja tag (`{{`, `{%`,
    /// `{#`) has each `{` written as an expression that gives `{`.
    static func jinjaSafe(_ text: String) -> String {
        guard text.contains("{{") || text.contains("{%") || text.contains("{#") else { return text }
        return text.replacingOccurrences(of: "{", with: "{{ '{' }}")
    }

    /// A name dbt may use unquoted in SQL: lowercase ASCII letters, digits and `_`, not first a digit.
    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}
