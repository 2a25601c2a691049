import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A `podio-mirror` process started by a test: its output is read while it runs (so a chatty
/// child never blocks on a full pipe), and the test may wait for it or SIGKILL it.
final class BinaryProcess: Sendable {
    let arguments: [String]
    private let child: ChildProcess

    init(_ arguments: [String], environment: [String: String]) throws {
        self.arguments = arguments
        child = try ChildProcess(ProcessRunner.binary("podio-mirror").path, arguments, environment: environment)
    }

    var pid: Int32 { child.pid }
    var isRunning: Bool { child.isRunning }

    /// SIGKILL: no handler runs, no cleanup happens (a crash, the OOM killer, a pulled plug).
    func kill() {
        child.signal(SIGKILL)
    }

    /// SIGTERM: the graceful stop of `run` (after the page in flight).
    func terminate() {
        child.signal(SIGTERM)
    }

    /// Waits for the end (SIGKILL after `timeout` seconds) and returns what it printed.
    func wait(timeout: Double = 120) async -> RunOutcome {
        let end = await child.wait(timeout: timeout)
        return RunOutcome(
            status: end.status, stdout: String(decoding: end.stdout, as: UTF8.self),
            stderr: String(decoding: end.stderr, as: UTF8.self), signaled: end.signaled)
    }
}

/// How a run of the binary ended and what it printed.
struct RunOutcome: Sendable {
    /// The exit code, or the signal number when `signaled`.
    var status: Int32
    var stdout: String
    var stderr: String
    /// Ended by a signal (SIGKILL) rather than by exiting.
    var signaled: Bool
}

extension RunOutcome {
    /// Everything printed, for messages of failed expectations.
    var printed: String { "exit \(status)\(signaled ? " (signal)" : "")\nstdout: \(stdout)\nstderr: \(stderr)" }

    /// stderr without empty lines.
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init).filter { !$0.isEmpty } }
}
