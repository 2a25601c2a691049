import ArgumentParser
import Foundation
import PodioAPI
import PodioMirror

/// Runs a command body and turns any error into one clear line on stderr and the documented
/// exit code (README, "Exit codes"); never a stack trace. What the command shared
/// (`CommandEnvironment`) is closed once it ends.
enum CommandRunner {
    static func execute(_ body: () async throws -> Void) async throws {
        let result: Result<Void, any Error>
        do {
            try await body()
            result = .success(())
        } catch {
            result = .failure(error)
        }
        await CommandEnvironment.close()
        do {
            try result.get()
        } catch let exit as ExitCode {
            throw exit
        } catch let error as ValidationError {
            throw error
        } catch {
            let (code, message) = describe(error)
            FileHandle.standardError.write(Data("podio-mirror: \(printable(message))\n".utf8))
            throw ExitCode(code)
        }
    }

    /// The exit code and the one-line message of an error (`MirrorError(classifying:)` decides both).
    static func describe(_ error: any Error) -> (Int32, String) {
        let classified = MirrorError(classifying: error)
        return (classified.category.exitCode, classified.description)
    }

    /// True when standard output is a terminal (progress lines only then; cron mails stay short).
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// True when standard error is a terminal (a deferral is said there, never in a cron mail).
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    static func print(_ line: String) {
        FileHandle.standardOutput.write(Data((printable(line) + "\n").utf8))
    }

    /// The text with control characters (which Podio names may carry) shown as `\u{1B}`, so
    /// that a name can neither break a line nor send escape sequences to the terminal.
    static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        var data = try encoder.encode(value)
        data.append(10)
        FileHandle.standardOutput.write(data)
    }
}
