import Foundation

/// Runs the project's executables as a user would, capturing output and exit status.
public enum ProcessRunner {
    public struct Outcome: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// Whether the process ended by a signal (e.g. SIGKILL) rather than exiting.
        public var signaled: Bool
    }

    /// The folder holding the built products (`.build/debug`), found from the test binary.
    public static var productsDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["PODIO_MIRROR_PRODUCTS"] {
            return URL(fileURLWithPath: override)
        }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // …/debug/podio-mirrorPackageTests.xctest (a file on Linux)
        while url.pathComponents.count > 1 {
            url = url.deletingLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("podio-mirror").path) {
                return url
            }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug")
    }

    public static func binary(_ name: String) -> URL {
        productsDirectory.appendingPathComponent(name)
    }

    /// Starts a process; the caller waits on it or kills it.
    public static func start(
        _ executable: URL, _ arguments: [String], environment: [String: String], stdout: Pipe, stderr: Pipe
    ) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Reads a pipe to its end on a thread of its own, off the concurrency pool.
    static func readToEnd(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: handle.readDataToEndOfFile()) }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    /// Runs to completion (or kills after `timeout` seconds) and returns what it printed.
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String], timeout: Double = 120
    ) async throws -> Outcome {
        let out = Pipe(), err = Pipe()
        let process = try start(executable, arguments, environment: environment, stdout: out, stderr: err)
        // Read both pipes concurrently so a chatty child never blocks on a full pipe, each on a
        // thread of its own: a blocking read on the concurrency pool (two threads on two cores)
        // starved every other test of the process while a long child ran (dbt takes minutes),
        // and the tests that poll for a moment (the kill scenarios) missed it.
        async let outData = Self.readToEnd(out.fileHandleForReading)
        async let errData = Self.readToEnd(err.fileHandleForReading)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus,
            stdout: String(decoding: await outData, as: UTF8.self),
            stderr: String(decoding: await errData, as: UTF8.self),
            signaled: process.terminationReason == .uncaughtSignal)
    }
}
