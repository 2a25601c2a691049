import ArgumentParser
import Foundation
import LibPQ
import PodioAPI
import PodioMirror

/// Runs a command body and turns any error into one clear line on stderr and the documented
/// exit code (README, "Exit codes"); never a stack trace.
enum CommandRunner {
    static func execute(_ body: () async throws -> Void) async throws {
        do {
            try await body()
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

    /// The exit code and the one-line message of an error.
    static func describe(_ error: any Error) -> (Int32, String) {
        switch error {
        case let e as MirrorError:
            return (e.category.exitCode, e.description)
        case let e as PGError where e.isInvalidConnectionString:
            return (64, "DATABASE_URL is not a valid connection string (\(e.message)); use postgresql://user@host:5432/dbname or host=… dbname=… (libpq's syntax)")
        case let e as PGError where e.kind == .connectionLost || e.sqlState.map({ ["57P01", "57P02"].contains($0) }) == true:
            // A restarted or crashed server: nothing of the page in flight was committed.
            return (70, "lost the connection to PostgreSQL (\(e.message)); check that the server is up: the next run resumes from the last committed page")
        case let e as PGError:
            let what = e.kind == .connectionFailed ? "" : "database error: "
            var text = "\(what)\(e.description)"
            if e.isQueryCanceled { text += "; a statement ran past statement_timeout" }
            if e.isLockNotAvailable { text += "; a lock was not granted in time (lock_timeout)" }
            return (70, text)
        case let e as PodioError:
            switch e.kind {
            case .credentialsRefused where e.code == PodioError.twoStepVerificationCode:
                // Asking again cannot help: Podio wants a second factor for this user.
                return (77, "Podio asks for two-step verification for PODIO_USERNAME, which an unattended run cannot give; use app authentication (PODIO_APP_AUTH) or run `podio-mirror login` once and unset PODIO_USERNAME and PODIO_PASSWORD")
            case .credentialsRefused where e.code == PodioError.noStoredTokenCode:
                return (64, "no Podio user credentials: \(e.detail); set PODIO_USERNAME and PODIO_PASSWORD, or PODIO_APP_AUTH, or run `podio-mirror login` once")
            case .credentialsRefused, .auth:
                return (77, "Podio refused the credentials: \(e); check PODIO_CLIENT_ID and PODIO_CLIENT_SECRET, and PODIO_USERNAME and PODIO_PASSWORD (or PODIO_APP_AUTH, or run `podio-mirror login` again)")
            case .retryable where e.status == nil:
                // No HTTP answer at all: a wrong URL as likely as an outage.
                return (69, "Podio is unreachable: \(e); check PODIO_API_URL and the network; the next run tries again")
            case .retryable:
                return (69, "Podio is unavailable: \(e); the next run tries again")
            case .rateLimited:
                return (75, "Podio's rate limit was hit: \(e); the next run continues")
            case .notFound, .gone, .invalidRequest:
                return (1, "\(e)")
            }
        case let e as TransportError:
            return (69, "Podio is unreachable: \(e.message); check PODIO_API_URL and the network")
        case let e as QuotaDeferral:
            return (75, "deferred: \(e)")
        case let e as TokenDeferral:
            return (75, "deferred: \(e); the next run after then continues")
        case let e as any RunDeferral:
            return (75, "deferred: \(e)")
        case is CancellationError:
            return (1, "stopped")
        default:
            return (1, "\(error)")
        }
    }

    /// True when standard output is a terminal (progress lines only then; cron mails stay short).
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

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
