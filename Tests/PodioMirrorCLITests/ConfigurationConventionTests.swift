import Foundation
import PodioMirror
import PodioSimulator
import TestSupport
import Testing

/// Configuration by convention, through the binary: each command accepts and lists exactly the
/// settings the table says it reads; `--env-file`, `NAME_FILE`, variables for `run`'s options;
/// `--version`.
@Suite("Configuration conventions")
struct ConfigurationConventionTests {
    /// Options that are not settings: what one invocation does, not how the mirror is set up.
    static let invocationOptions: [String: Set<String>] = [
        "check": ["--hook-url"],  // the public URL this check probes
        "dbt-sources": ["--output"],  // where this one YAML goes
        "hooks install": ["--url", "--wait"],  // the address of this install, how long it waits
        "login": ["--redirect-uri", "--authorize-url", "--timeout"],  // one interactive login
    ]

    static func binary(_ arguments: [String], env: [String: String] = [:]) async throws -> ProcessRunner.Outcome {
        var environment = ProcessInfo.processInfo.environment
        for key in environment.keys where key.hasPrefix("PODIO_") || key == "DATABASE_URL" { environment[key] = nil }
        environment.merge(env) { $1 }
        return try await ProcessRunner.run(
            ProcessRunner.binary("podio-mirror"), arguments, environment: environment, timeout: 60)
    }

    /// Each command's options, from ArgumentParser's own description of the command line.
    static func optionsByCommand() async throws -> [String: Set<String>] {
        let dump = try await binary(["--experimental-dump-help"])
        try #require(dump.status == 0, "\(dump.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        var result: [String: Set<String>] = [:]
        func walk(_ command: [String: Any], path: [String]) {
            let name = command["commandName"] as? String ?? ""
            let here = path + [name]
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            if subcommands.isEmpty && name != "help" && name != "config-reference" {
                var options = Set<String>()
                for argument in command["arguments"] as? [[String: Any]] ?? []
                where argument["kind"] as? String == "option" {
                    for n in argument["names"] as? [[String: Any]] ?? [] where n["kind"] as? String == "long" {
                        options.insert("--" + (n["name"] as? String ?? ""))
                    }
                }
                result[here.dropFirst().joined(separator: " ")] = options
            }
            for sub in subcommands { walk(sub, path: here) }
        }
        walk(try #require(object["command"] as? [String: Any]), path: [])
        return result
    }

    /// Every option of every command is a setting the table says the command reads (or an
    /// invocation option), and every setting the table gives a command is an option of it.
    @Test func eachCommandTakesTheOptionsOfTheSettingsItReads() async throws {
        let commands = try await Self.optionsByCommand()
        #expect(Set(commands.keys) == Set(SettingCatalog.Command.all), "\(commands.keys.sorted())")
        for (command, options) in commands {
            let expected = Set(SettingCatalog.keys(for: command).compactMap(\.option))
                .union(Self.invocationOptions[command] ?? []).union(["--env-file"])
            #expect(
                options == expected,
                "\(command): not in the table \(options.subtracting(expected).sorted()), missing \(expected.subtracting(options).sorted())"
            )
        }
    }

    /// `--help` lists the variables the command reads, and no other.
    @Test(arguments: SettingCatalog.Command.all)
    func helpListsWhatTheCommandReads(_ command: String) async throws {
        let help = try await Self.binary(command.split(separator: " ").map(String.init) + ["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        let text = help.stdout
        /// The variable as a word of its own (PODIO_APPS is not PODIO_APPS_REFRESH).
        func mentions(_ variable: String) -> Bool {
            var rest = text[...]
            while let found = rest.range(of: variable) {
                let next = rest[found.upperBound...].first
                if next.map({ !($0 == "_" || ("A"..."Z").contains($0)) }) ?? true { return true }
                rest = rest[found.upperBound...]
            }
            return false
        }
        for key in SettingCatalog.all {
            if key.isRead(by: command) {
                #expect(mentions(key.variable), "\(command) --help does not list \(key.variable)")
            } else {
                #expect(!mentions(key.variable), "\(command) --help lists \(key.variable), which it does not read")
            }
        }
    }

    @Test func versionIsPrinted() async throws {
        let version = try await Self.binary(["--version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.wholeMatch(of: /\d+\.\d+\.\d+\n/) != nil, "\(version.stdout)")
    }

    /// `--env-file`: read as cron and systemd need it; the real environment wins; a missing file
    /// is one line and exit 64. `NAME_FILE`: the secret read from a file; both set is refused.
    @Test func envFileAndSecretFiles() async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 12, fields: .simple)]
        try await CLIHarness.with(options) { h in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "envfile-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let secret = h.configuration.clientSecret
            let envFile = directory.appendingPathComponent("podio-mirror.env").path
            try "# the API key\nPODIO_CLIENT_SECRET='\(secret)'\nPODIO_RATE_WINDOW=\"1h\"\n".write(
                toFile: envFile, atomically: true, encoding: .utf8)

            let missing = try await h.run(["sync", "--env-file", directory.appendingPathComponent("nope").path])
            #expect(missing.status == 64 && missing.stdout.isEmpty, "\(missing.printed)")
            #expect(missing.stderrLines.count == 1 && missing.stderr.contains("nope"), "\(missing.printed)")

            // The secret only in the file: the sync runs.
            let fromFile = try await h.run(["sync", "--env-file", envFile], env: ["PODIO_CLIENT_SECRET": nil])
            #expect(fromFile.status == 0 && fromFile.stdout.isEmpty && fromFile.stderr.isEmpty, "\(fromFile.printed)")
            #expect(try await h.count("SELECT count(*) FROM podio.items") == 12)

            // The environment wins over the file: a wrong value in the environment is used.
            _ = try await h.db.run {
                try $0.execute("DELETE FROM podio_auth.oauth_tokens; DELETE FROM podio_auth.token_requests")
            }
            let envWins = try await h.run(
                ["sync", "--env-file", envFile], env: ["PODIO_CLIENT_SECRET": "not-the-secret-1234"])
            #expect(envWins.status == 77, "\(envWins.printed)")

            // PODIO_PASSWORD_FILE: the password from a file, its newline trimmed.
            _ = try await h.db.run {
                try $0.execute("DELETE FROM podio_auth.oauth_tokens; DELETE FROM podio_auth.token_requests")
            }
            let passwordFile = directory.appendingPathComponent("password").path
            try (h.configuration.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
            let secretFile = try await h.run(
                ["sync"], env: ["PODIO_PASSWORD": nil, "PODIO_PASSWORD_FILE": passwordFile])
            #expect(secretFile.status == 0, "\(secretFile.printed)")
            let both = try await h.run(["sync"], env: ["PODIO_PASSWORD_FILE": passwordFile])
            #expect(both.status == 64 && both.stderrLines.count == 1, "\(both.printed)")
            #expect(both.stderr.contains("PODIO_PASSWORD and PODIO_PASSWORD_FILE"), "\(both.printed)")

            // `run` needs its interval from --every or PODIO_RUN_EVERY.
            let noInterval = try await h.run(["run"], timeout: 30)
            #expect(noInterval.status == 64 && noInterval.stderr.contains("PODIO_RUN_EVERY"), "\(noInterval.printed)")
            let badInterval = try await h.run(["run"], env: ["PODIO_RUN_EVERY": "soon"], timeout: 30)
            #expect(
                badInterval.status == 64 && badInterval.stderr.contains("PODIO_RUN_EVERY"), "\(badInterval.printed)")
            try await h.expectNoSecretsLeaked(extra: ["not-the-secret-1234"])
        }
    }

    /// Quiet success: nothing on stdout unless asked (--summary, --json); a deferral is quiet
    /// (exit 75 all the same) until the fourth in a row, which prints its one line.
    @Test func quietSuccessAndDeferrals() async throws {
        var options = CLIHarness.Options()
        options.apps = [
            PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 2_000, fields: .simple)
        ]
        options.quota = (2, 1000, 3600)
        try await CLIHarness.with(options) { h in
            let app = String(h.simulator.appIDs()[0])
            var outcomes: [RunOutcome] = []
            for _ in 0..<4 {
                outcomes.append(try await h.run(["sync", "--app", app, "--max-wait", "1s"]))
            }
            for (index, outcome) in outcomes.enumerated() {
                #expect(outcome.status == 75, "run \(index + 1): \(outcome.printed)")
                #expect(outcome.stdout.isEmpty, "run \(index + 1): \(outcome.printed)")
            }
            for outcome in outcomes.prefix(3) { #expect(outcome.stderr.isEmpty, "\(outcome.printed)") }
            #expect(outcomes[3].stderrLines.count == 1, "\(outcomes[3].printed)")
            #expect(outcomes[3].stderr.hasPrefix("podio-mirror: "), "\(outcomes[3].printed)")
        }
    }

    @Test func successPrintsOnlyWhenAsked() async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 12, fields: .simple)]
        try await CLIHarness.with(options) { h in
            let quiet = try await h.sync()
            #expect(quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(quiet.printed)")
            let summary = try await h.sync(["--summary"])
            #expect(
                summary.stdout.hasPrefix("sync succeeded: 1 app") && summary.stdout.split(separator: "\n").count == 1,
                "\(summary.printed)")
            let json = try await h.run(["resync", "--json"])
            #expect(json.status == 0)
            let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            #expect(object?["status"] as? String == "succeeded", "\(json.printed)")
        }
    }
}
