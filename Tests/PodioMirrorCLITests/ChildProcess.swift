import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`: stdin from /dev/null, stdout and stderr to pipes
/// (or to a file), and no other descriptor of the test process.
///
/// Foundation's `Process` notices a child's end when a socket the child inherited closes. A
/// child that inherits another child's socket (processes started together), or that starts a
/// daemon which inherits its own (`pg_ctl start`), keeps that socket open, and the end is
/// noticed late or never. Here the child keeps nothing but 0, 1 and 2, and a thread of its own
/// reaps it with `waitpid`.
final class ChildProcess: Sendable {
    let pid: pid_t
    private let waitStatus = Mutex<Int32?>(nil)
    private let stdoutTask: Task<Data, Never>?
    private let stderrTask: Task<Data, Never>?

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// - Parameter outputFile: when set, stdout and stderr go there instead of to pipes.
    init(_ path: String, _ arguments: [String], environment: [String: String], outputFile: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        if let outputFile {
            posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            for target: Int32 in [1, 2] {
                var fds: [Int32] = [-1, -1]
                guard Self.pipe2(&fds, O_CLOEXEC) == 0 else {
                    for fd in parentEnds + childEnds { close(fd) }
                    throw Failure(description: "pipe2 failed: errno \(errno)")
                }
                parentEnds.append(fds[0])
                childEnds.append(fds[1])
                posix_spawn_file_actions_adddup2(&actions, fds[1], target)
            }
        }
        guard Self.addCloseFrom(&actions, 3) == 0 else {
            for fd in parentEnds + childEnds { close(fd) }
            throw Failure(description: "posix_spawn_file_actions_addclosefrom_np failed")
        }

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var spawned: pid_t = 0
        let result = posix_spawn(&spawned, path, &actions, nil, argv, envp)
        for fd in childEnds { close(fd) }
        guard result == 0 else {
            for fd in parentEnds { close(fd) }
            throw Failure(description: "posix_spawn \(path) failed: errno \(result)")
        }
        let pid = spawned
        self.pid = pid
        if parentEnds.count == 2 {
            stdoutTask = Task { await Self.readToEnd(parentEnds[0]) }
            stderrTask = Task { await Self.readToEnd(parentEnds[1]) }
        } else {
            stdoutTask = nil
            stderrTask = nil
        }
        Self.onThread { [self] in
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
            waitStatus.withLock { $0 = raw }
        }
    }

    // glibc's GNU extensions, which Swift's Glibc module does not show (glibc 2.34 and later).
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }

    private static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        symbol("pipe2", as: Pipe2.self)?(fds, flags) ?? -1
    }

    private static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32)
        -> Int32
    {
        symbol("posix_spawn_file_actions_addclosefrom_np", as: AddCloseFrom.self)?(actions, from) ?? -1
    }

    /// Blocking work on a thread of its own: not on the cooperative pool, and not on GCD's global
    /// queues either (on Linux the cooperative pool shares their few threads, so blocked reads there
    /// stall every test).
    private static func onThread(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.stackSize = 256 * 1024
        thread.start()
    }

    /// Reads a pipe to its end on a thread of its own.
    private static func readToEnd(_ fd: Int32) async -> Data {
        await withCheckedContinuation { continuation in
            onThread {
                let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
                continuation.resume(returning: handle.readDataToEndOfFile())
            }
        }
    }

    var isRunning: Bool { waitStatus.withLock { $0 == nil } }

    func signal(_ signal: Int32) {
        if isRunning { _ = Glibc.kill(pid, signal) }
    }

    /// Waits for the end (SIGKILL after `timeout` seconds): the exit code (or the signal) and the output.
    func wait(timeout: Double) async -> (status: Int32, signaled: Bool, stdout: Data, stderr: Data) {
        let deadline = Date().addingTimeInterval(timeout)
        var killed = false
        while isRunning {
            if !killed && Date() > deadline {
                signal(SIGKILL)
                killed = true
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        let raw = waitStatus.withLock { $0 } ?? 0
        let signalNumber = raw & 0x7f
        let signaled = signalNumber != 0 && signalNumber != 0x7f
        let status = signaled ? signalNumber : (raw >> 8) & 0xff
        let out = await stdoutTask?.value ?? Data()
        let err = await stderrTask?.value ?? Data()
        return (status, signaled, out, err)
    }
}
