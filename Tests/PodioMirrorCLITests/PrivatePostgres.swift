import Foundation

/// A PostgreSQL cluster of its own, for the one test that restarts the server: restarting the
/// shared test server would cut the connections of every other test running alongside.
/// Runs the server as `postgres` when the tests run as root (initdb refuses root).
final class PrivatePostgres: Sendable {
    let dataDirectory: String
    let socketDirectory: String
    let port: Int
    private let binDirectory: String
    private let asRoot: Bool

    /// `postgresql:///postgres` on this cluster's socket.
    var url: String { "postgresql:///postgres?host=\(socketDirectory)&port=\(port)&user=postgres" }

    private init(dataDirectory: String, socketDirectory: String, port: Int, binDirectory: String, asRoot: Bool) {
        self.dataDirectory = dataDirectory
        self.socketDirectory = socketDirectory
        self.port = port
        self.binDirectory = binDirectory
        self.asRoot = asRoot
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func findBinDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        for version in versions.sorted().reversed() {
            let bin = "\(root)/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: bin + "/initdb") { return bin }
        }
        return nil
    }

    /// initdb and start, on a unix socket only.
    static func start() async throws -> PrivatePostgres {
        guard let bin = findBinDirectory() else {
            throw Failure(description: "no PostgreSQL server binaries in /usr/lib/postgresql")
        }
        let asRoot = getuid() == 0
        let base = "/tmp/pm-rel-\(UUID().uuidString.prefix(8).lowercased())"
        let data = base + "/data"
        let socket = base + "/s"
        try FileManager.default.createDirectory(atPath: socket, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let server = PrivatePostgres(
            dataDirectory: data, socketDirectory: socket, port: 20_000 + Int.random(in: 0..<20_000), binDirectory: bin,
            asRoot: asRoot)
        if asRoot {
            try await server.shell(["/bin/chown", "-R", "postgres:", base], asPostgres: false)
        }
        try await server.shell(["/bin/chmod", "700", data], asPostgres: asRoot)
        try await server.shell(
            [
                bin + "/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                "--no-sync",
            ],
            asPostgres: asRoot)
        do {
            try await server.shell(
                [
                    bin + "/pg_ctl", "-D", data, "-w", "-l", data + "/server.log", "-o",
                    "-c listen_addresses='' -k \(socket) -p \(server.port) -c fsync=off -c synchronous_commit=off",
                    "start",
                ], asPostgres: asRoot)
        } catch {
            try? FileManager.default.removeItem(atPath: base)
            throw error
        }
        return server
    }

    /// `pg_ctl restart -m fast`: every session is terminated, the server comes back.
    func restart() async throws {
        try await shell(
            [binDirectory + "/pg_ctl", "-D", dataDirectory, "-w", "-m", "fast", "restart"], asPostgres: asRoot)
    }

    /// Stops the server and removes its files.
    func stop() async {
        try? await shell(
            [binDirectory + "/pg_ctl", "-D", dataDirectory, "-w", "-m", "immediate", "stop"], asPostgres: asRoot)
        try? FileManager.default.removeItem(
            atPath: URL(fileURLWithPath: dataDirectory).deletingLastPathComponent().path)
    }

    /// Runs a command to its end, its output in a file (a server started by `pg_ctl` would keep
    /// a pipe open for its lifetime).
    private func shell(_ command: [String], asPostgres: Bool) async throws {
        let arguments = asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
        let outputPath = NSTemporaryDirectory() + "pm-rel-shell-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let child = try ChildProcess(
            arguments[0], Array(arguments.dropFirst()), environment: ProcessInfo.processInfo.environment,
            outputFile: outputPath)
        let end = await child.wait(timeout: 120)
        guard end.status == 0, !end.signaled else {
            let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
            throw Failure(description: "\(command.joined(separator: " ")) failed (\(end.status)): \(text)")
        }
    }
}
