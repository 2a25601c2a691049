import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process run to completion, with its exit status, wall time and peak memory.
struct ChildOutcome: Sendable {
    var status: Int32
    var seconds: Double
    /// Peak resident set size of the child (`VmHWM`, read while it runs), in KiB.
    var maxRSSKiB: Int
    var stdout: String
    var stderr: String

    var ok: Bool { status == 0 }
}

/// Spawns executables with `posix_spawn`, follows each child's own peak RSS while it runs, and
/// reaps it with `wait4`.
enum Child {
    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `path` with `arguments` and exactly `environment`; stdin is /dev/null, stdout and
    /// stderr go to temporary files that are read back and removed.
    static func run(_ path: String, _ arguments: [String], environment: [String: String]) async throws -> ChildOutcome {
        let tag = UUID().uuidString.prefix(8)
        let outPath = NSTemporaryDirectory() + "podio-bench-\(tag).out"
        let errPath = NSTemporaryDirectory() + "podio-bench-\(tag).err"
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let started = ContinuousClock.now
        let pid = try spawn(path, arguments, environment: environment, stdout: outPath, stderr: errPath)
        var status: Int32 = 0
        var usage = rusage()
        var peakKiB = 0
        while true {
            // VmHWM is the high-water mark of the child's own address space, so the last reading
            // before it exits is its peak (less what it gained in its last 10 ms).
            if let hwm = highWaterMarkKiB(pid) { peakKiB = max(peakKiB, hwm) }
            let reaped = wait4(pid, &status, WNOHANG, &usage)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR {
                throw SpawnError(description: "wait4 failed for \(path): errno \(errno)")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        let elapsed = ContinuousClock.now - started
        // Exited normally: the code; killed by a signal: 128 + the signal, like a shell.
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return ChildOutcome(status: code, seconds: Bench.seconds(elapsed), maxRSSKiB: peakKiB, stdout: out, stderr: err)
    }

    /// `VmHWM` of /proc/PID/status in KiB. Not `ru_maxrss` from `wait4`: Linux starts a child's
    /// `ru_maxrss` at the high-water mark of the address space it exec'd from, which for a
    /// posix_spawn (vfork) child is this process's, simulator and all.
    private static func highWaterMarkKiB(_ pid: pid_t) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        return line.split(separator: " ").compactMap { Int($0) }.first
    }

    static func spawn(
        _ path: String, _ arguments: [String], environment: [String: String], stdout: String, stderr: String
    ) throws -> pid_t {
        #if canImport(Glibc)
            var actions = posix_spawn_file_actions_t()
        #else
            var actions: posix_spawn_file_actions_t?
        #endif
        guard posix_spawn_file_actions_init(&actions) == 0 else {
            throw SpawnError(description: "posix_spawn_file_actions_init failed")
        }
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else {
            throw SpawnError(description: "could not start \(path): \(String(cString: strerror(rc)))")
        }
        return pid
    }
}
