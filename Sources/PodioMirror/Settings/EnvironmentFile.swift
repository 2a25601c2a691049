import Foundation

/// A file of `NAME=value` lines, as docker compose's `env_file` and systemd's `EnvironmentFile`
/// read them (`--env-file`): `#` comments and blank lines are skipped, a value may be quoted
/// ('single': taken as written; "double": `\"`, `\\`, `\n` and `\$` unescaped), an unquoted value
/// is taken up to the end of the line less surrounding blanks (a `#` inside it is part of the
/// value, as systemd reads it), and a leading `export ` is allowed.
///
/// The real environment wins over the file (`merged(into:)`), as dotenv tools do; messages name
/// the file and the line, never a value (values are secrets).
public enum EnvironmentFile {
    /// The variables of `path`; a file that cannot be read, or a line that is not `NAME=value`,
    /// is a usage error (exit 64).
    public static func load(_ path: String) throws -> [String: String] {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        guard exists, !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            let why = !exists ? "no such file" : isDirectory.boolValue ? "a directory" : "permission denied"
            throw MirrorError(
                .usage, "the env file \(path) cannot be read (\(why))",
                fix: "give --env-file the path of a file of NAME=value lines this user can read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MirrorError(.usage, "the env file \(path) is not UTF-8 text", fix: "save it as UTF-8")
        }
        return try parse(text, path: path)
    }

    /// The variables of the text of a file named `path` (for messages).
    public static func parse(_ text: String, path: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine)
            line = line.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count).drop(while: { $0 == " " }) }
            func bad(_ why: String) -> MirrorError {
                MirrorError(
                    .usage, "the env file \(path), line \(index + 1): \(why)",
                    fix: "write NAME=value lines (# starts a comment)")
            }
            guard let equals = line.firstIndex(of: "=") else { throw bad("not NAME=value") }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            // Not echoed: a secret wrapped onto a line of its own would reach the cron mail.
            guard isName(name) else { throw bad("the text before = is not a variable name") }
            let rest = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            values[name] = try value(rest, bad: bad)
        }
        return values
    }

    /// `file` under `environment`: a variable set (and not empty) in the environment wins.
    public static func merged(_ file: [String: String], under environment: [String: String]) -> [String: String] {
        var env = file
        for (name, value) in environment where !value.isEmpty || file[name] == nil { env[name] = value }
        return env
    }

    private static func value(_ text: String, bad: (String) -> MirrorError) throws -> String {
        guard let quote = text.first, quote == "\"" || quote == "'" else { return text }
        guard text.count >= 2, text.last == quote else { throw bad("a quoted value lacks its closing quote") }
        let inner = text.dropFirst().dropLast()
        if quote == "'" { return String(inner) }
        var out = ""
        var escaped = false
        for character in inner {
            if escaped {
                out.append(character == "n" ? "\n" : character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                out.append(character)
            }
        }
        if escaped { out.append("\\") }
        return out
    }

    private static func isName(_ name: String) -> Bool {
        func letter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" }
        guard let first = name.unicodeScalars.first, letter(first) else { return false }
        return name.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) }
    }
}
