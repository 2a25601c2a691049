import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A long-running child (`podio-mirror run`): started now, stopped with SIGTERM later.
/// stdout and stderr go to files kept until `stop` read them back.
final class RunningChild: Sendable {
    let pid: pid_t
    let name: String
    private let outPath: String
    private let errPath: String

    private init(pid: pid_t, name: String, outPath: String, errPath: String) {
        self.pid = pid
        self.name = name
        self.outPath = outPath
        self.errPath = errPath
    }

    static func start(_ path: String, _ arguments: [String], environment: [String: String], name: String) throws
        -> RunningChild
    {
        let tag = UUID().uuidString.prefix(8)
        let outPath = NSTemporaryDirectory() + "podio-bench-\(name)-\(tag).out"
        let errPath = NSTemporaryDirectory() + "podio-bench-\(name)-\(tag).err"
        let pid = try Child.spawn(path, arguments, environment: environment, stdout: outPath, stderr: errPath)
        return RunningChild(pid: pid, name: name, outPath: outPath, errPath: errPath)
    }

    /// Whether the child has exited (it is then reaped, and its status returned).
    func exited() -> Int32? {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        guard reaped == pid else { return nil }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// The last `limit` characters of its stderr so far.
    func stderrTail(_ limit: Int = 2000) -> String {
        String(((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "").suffix(limit))
    }

    /// SIGTERM, up to `grace` seconds for a graceful stop, then SIGKILL; returns the exit status
    /// and removes the output files.
    func stop(grace: Double = 20) async -> Int32 {
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        if let status = exited() { return status }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + .milliseconds(Int(grace * 1000))
        while ContinuousClock.now < deadline {
            if let status = exited() { return status }
            try? await Task.sleep(for: .milliseconds(20))
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return 128 + SIGKILL
    }
}
