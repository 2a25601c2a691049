import Foundation
import PodioSimulator
import TestSupport
import Testing

/// The crontab lines of README.md ("cron"), run as cron runs them: `/bin/sh -c` with cron's
/// environment (`env -i`, `PATH=/usr/bin:/bin`, `HOME`, `SHELL=/bin/sh`), only the binary's path
/// and the env file's path replaced. Each must exit 0 and print nothing (cron mails output).
@Suite("Cron recipe")
struct CronRecipeTests {
    static let marker = "<!-- cron recipe: tested by CronRecipeTests -->"
    /// The placeholders of the recipe, replaced by the built binary and the test's env file.
    static let binaryPlaceholder = "/usr/local/bin/podio-mirror"
    static let envFilePlaceholder = "/etc/podio-mirror.env"

    /// The command part of each crontab line of the fenced block after the marker.
    static func recipe() throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let after = try #require(readme.range(of: marker), "README.md lacks the marker line").upperBound
        let lines = readme[after...].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let open = try #require(lines.firstIndex { $0.hasPrefix("```") }, "no fenced block after the marker")
        #expect(lines[..<open].allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty })
        let close = try #require(lines[(open + 1)...].firstIndex { $0.hasPrefix("```") }, "the block is not closed")
        var commands: [String] = []
        for line in lines[(open + 1)..<close] {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            // Five time fields, then the command (cron gives the rest of the line to the shell).
            var rest = Substring(trimmed)
            for _ in 0..<5 {
                rest = rest.drop(while: { $0 != " " && $0 != "\t" }).drop(while: { $0 == " " || $0 == "\t" })
            }
            #expect(!rest.contains("%"), "cron turns % into a newline: \(line)")
            commands.append(String(rest))
        }
        return commands
    }

    @Test func theREADMERecipeRunsQuietlyUnderCron() async throws {
        let commands = try Self.recipe()
        try #require(commands.count >= 2, "\(commands)")
        #expect(commands.allSatisfy { $0.hasPrefix(Self.binaryPlaceholder + " ") }, "\(commands)")
        #expect(commands.allSatisfy { $0.contains(Self.envFilePlaceholder) }, "\(commands)")
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 40, fields: .simple)]
        try await CLIHarness.with(options) { h in
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("cron-home-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: home) }
            // The operator's env file: what podio-mirror.env.example holds, filled in.
            var lines = ["# written by CronRecipeTests"]
            for (name, value) in h.baseEnvironment.sorted(by: { $0.key < $1.key })
            where name.hasPrefix("PODIO_") || name == "DATABASE_URL" || name.hasPrefix("PG") {
                lines.append("\(name)=\(value)")
            }
            let envFile = home.appendingPathComponent("podio-mirror.env")
            try (lines.joined(separator: "\n") + "\n").write(to: envFile, atomically: true, encoding: .utf8)
            let binary = ProcessRunner.binary("podio-mirror").path
            for command in commands {
                let line = command.replacingOccurrences(of: Self.binaryPlaceholder, with: binary)
                    .replacingOccurrences(of: Self.envFilePlaceholder, with: envFile.path)
                let child = try ChildProcess(
                    "/usr/bin/env",
                    ["-i", "PATH=/usr/bin:/bin", "HOME=\(home.path)", "SHELL=/bin/sh", "/bin/sh", "-c", line],
                    environment: [:])
                let end = await child.wait(timeout: 120)
                let stdout = String(decoding: end.stdout, as: UTF8.self)
                let stderr = String(decoding: end.stderr, as: UTF8.self)
                h.record(stdout)
                h.record(stderr)
                #expect(end.status == 0 && !end.signaled, "\(command): exit \(end.status)\n\(stdout)\(stderr)")
                #expect(stdout.isEmpty, "\(command) printed on stdout: \(stdout)")
                #expect(stderr.isEmpty, "\(command) printed on stderr: \(stderr)")
            }
            #expect(try await h.count("SELECT count(*) FROM podio.items WHERE deleted_at IS NULL") == 40)
            #expect(
                try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status = 'succeeded'") == commands.count)
            try await h.expectNoSecretsLeaked()
        }
    }
}
