import Foundation
import PodioSimulator
import TestSupport
import Testing

/// A configuration mistake and what the user must see: the exit code and words of one line.
struct ConfigurationCase: Sendable, CustomTestStringConvertible {
    var name: String
    var arguments: [String] = ["sync"]
    var env: [String: String?] = [:]
    var exitCode: Int32
    /// Words the line must contain (what is wrong, and what to do).
    var says: [String]
    var migrate = true
    /// Rejected by the argument parser: its `Error:` line, then its usage and help lines.
    var parserError = false
    /// Credentials Podio accepts: the token the run obtained may be stored.
    var tokensMayBeStored = false

    var testDescription: String { name }

    static let all: [ConfigurationCase] = [
        ConfigurationCase(
            name: "missing API key", env: ["PODIO_CLIENT_ID": nil, "PODIO_CLIENT_SECRET": nil], exitCode: 64,
            says: ["PODIO_CLIENT_ID", "PODIO_CLIENT_SECRET", "set"]),
        ConfigurationCase(
            name: "missing client secret", env: ["PODIO_CLIENT_SECRET": nil], exitCode: 64,
            says: ["PODIO_CLIENT_SECRET"]),
        ConfigurationCase(
            name: "missing user credentials", env: ["PODIO_USERNAME": nil, "PODIO_PASSWORD": nil], exitCode: 64,
            says: ["PODIO_USERNAME", "PODIO_APP_AUTH", "login"]),
        ConfigurationCase(
            name: "password without username", env: ["PODIO_USERNAME": nil], exitCode: 64, says: ["PODIO_PASSWORD"]),
        ConfigurationCase(
            name: "wrong client secret", env: ["PODIO_CLIENT_SECRET": "not-the-secret-1234"], exitCode: 77,
            says: ["refused", "PODIO_CLIENT_SECRET"]),
        ConfigurationCase(
            name: "wrong password", env: ["PODIO_PASSWORD": "not-the-password-1234"], exitCode: 77,
            says: ["refused", "PODIO_PASSWORD"]),
        ConfigurationCase(
            name: "unreachable PODIO_API_URL", env: ["PODIO_API_URL": "http://127.0.0.1:9"], exitCode: 69,
            says: ["PODIO_API_URL"]),
        ConfigurationCase(
            name: "PODIO_API_URL not a URL", env: ["PODIO_API_URL": "api.podio.com"], exitCode: 64,
            says: ["PODIO_API_URL"]),
        // The secret and the password travel in the token request's body: plain HTTP only on loopback.
        ConfigurationCase(
            name: "http:// PODIO_API_URL to a remote host", env: ["PODIO_API_URL": "http://api.podio.com"],
            exitCode: 64,
            says: ["PODIO_API_URL", "http://", "api.podio.com", "in clear", "https://"]),
        ConfigurationCase(
            name: "http:// --api-url to a private address", arguments: ["sync", "--api-url", "http://10.1.2.3:8089"],
            exitCode: 64, says: ["PODIO_API_URL", "10.1.2.3", "in clear"]),
        ConfigurationCase(
            name: "http:// to a name that only starts like loopback",
            env: ["PODIO_API_URL": "http://127.0.0.1.nip.io:8089"], exitCode: 64, says: ["PODIO_API_URL", "in clear"]),
        ConfigurationCase(
            name: "malformed DATABASE_URL", env: ["DATABASE_URL": "postgresql://mirror@[broken/x"], exitCode: 64,
            says: ["DATABASE_URL"]),
        ConfigurationCase(
            name: "DATABASE_URL with an unknown keyword", env: ["DATABASE_URL": "host=/tmp dbnmae=mirror"],
            exitCode: 64,
            says: ["DATABASE_URL"]),
        ConfigurationCase(
            name: "database that does not exist", env: ["DATABASE_URL": "postgresql:///pm_no_such_database_here"],
            exitCode: 70, says: ["DATABASE_URL", "pm_no_such_database_here"]),
        ConfigurationCase(
            name: "schema not migrated", exitCode: 64, says: ["podio-mirror migrate"], migrate: false),
        ConfigurationCase(
            name: "unknown --app", arguments: ["sync", "--app", "999999"], exitCode: 64,
            says: ["999999", "podio-mirror apps"],
            tokensMayBeStored: true),
        ConfigurationCase(
            name: "PODIO_APPS not ids", env: ["PODIO_APPS": "projects"], exitCode: 64, says: ["PODIO_APPS"]),
        ConfigurationCase(
            name: "quota of zero", env: ["PODIO_RATE_LIMIT": "0"], exitCode: 64,
            says: ["PODIO_RATE_LIMIT", "above zero"]),
        ConfigurationCase(
            name: "quota of zero by option", arguments: ["sync", "--rate-limit", "0"], exitCode: 64,
            says: ["PODIO_RATE_LIMIT", "above zero"]),
        ConfigurationCase(
            name: "PODIO_COMMENTS not a switch", env: ["PODIO_COMMENTS": "sometimes"], exitCode: 64,
            says: ["PODIO_COMMENTS", "on or off"]),
        ConfigurationCase(
            name: "--history not a switch", arguments: ["sync", "--history", "deep"], exitCode: 64,
            says: ["PODIO_HISTORY", "on or off"]),
        ConfigurationCase(
            name: "PODIO_DEEP_HISTORY neither off, all nor app ids", env: ["PODIO_DEEP_HISTORY": "some"], exitCode: 64,
            says: ["PODIO_DEEP_HISTORY", "off, all, or app ids"]),
        ConfigurationCase(
            name: "--deep-history with a bad app id", arguments: ["sync", "--deep-history", "12,x"], exitCode: 64,
            says: ["PODIO_DEEP_HISTORY", "off, all, or app ids"]),
        ConfigurationCase(
            name: "window not a duration", env: ["PODIO_RATE_WINDOW": "an hour"], exitCode: 64,
            says: ["PODIO_RATE_WINDOW"]),
        ConfigurationCase(
            name: "bad --max-wait", arguments: ["sync", "--max-wait", "soon"], exitCode: 64, says: ["--max-wait"],
            parserError: true),
        ConfigurationCase(
            name: "malformed PODIO_APP_AUTH", env: ["PODIO_APP_AUTH": "123"], exitCode: 64, says: ["PODIO_APP_AUTH"]),
    ]
}

@Suite("Bad configuration")
struct ConfigurationTests {
    @Test(arguments: ConfigurationCase.all)
    func oneLineTheDocumentedCodeAndNothingWritten(_ c: ConfigurationCase) async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 3, fields: .simple)]
        options.migrate = c.migrate
        try await CLIHarness.with(options) { h in
            let outcome = try await h.run(c.arguments, env: c.env, timeout: 120)
            #expect(outcome.status == c.exitCode, "\(outcome.printed)")
            #expect(outcome.stdout.isEmpty, "\(outcome.printed)")
            let lines = outcome.stderrLines
            if c.parserError {
                #expect(lines.first?.hasPrefix("Error: ") == true, "\(outcome.printed)")
                #expect(
                    lines.dropFirst().allSatisfy { $0.contains("Usage:") || $0.contains("--help") },
                    "\(outcome.printed)")
            } else {
                #expect(lines.count == 1, "\(outcome.printed)")
                #expect(lines.first?.hasPrefix("podio-mirror: ") == true, "\(outcome.printed)")
            }
            let line = lines.first ?? ""
            for word in c.says {
                #expect(line.contains(word), "«\(line)» does not say \(word)")
            }
            for trace in ["Fatal error", "Stack dump", "0x0", "Swift runtime", ".swift:"] {
                #expect(!line.contains(trace), "\(line)")
            }
            if c.migrate {
                // Nothing of the mirror is written; a failed run may be recorded for `status`.
                var tables = ["podio.apps", "podio.app_fields", "podio.items", "podio.app_columns", "podio.sync_state"]
                if !c.tokensMayBeStored { tables.append("podio_auth.oauth_tokens") }
                for table in tables {
                    #expect(try await h.count("SELECT count(*) FROM \(table)") == 0, "\(table) was written")
                }
                #expect(try await h.count("SELECT count(*) FROM podio.sync_runs WHERE status <> 'failed'") == 0)
            }
            try await h.expectNoSecretsLeaked(extra: ["not-the-secret-1234", "not-the-password-1234"])
        }
    }

    /// Every setting that is not a secret has an option too, and the option wins over the variable.
    @Test func optionsOverrideTheEnvironment() async throws {
        var options = CLIHarness.Options()
        options.apps = [PodioSimulator.AppSpec(name: "Projects", urlLabel: "projects", itemCount: 3, fields: .simple)]
        try await CLIHarness.with(options) { h in
            try await h.sync()
            let status = try await h.run(
                ["status", "--json", "--rate-limit", "120", "--rate-limit-general", "400", "--rate-window", "90s"],
                env: ["PODIO_RATE_LIMIT": "250", "PODIO_RATE_WINDOW": "1h"])
            #expect(status.status == 0, "\(status.printed)")
            let report = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            #expect(report?["windowSeconds"] as? Double == 90)
            let quotas = (report?["quota"] as? [[String: Any]]) ?? []
            #expect(quotas.first { $0["tier"] as? String == "rate_limited" }?["quota"] as? Int == 120, "\(quotas)")
            // A client id given as an option is the one Podio sees: a wrong one is refused.
            let refused = try await h.run(["sync", "--client-id", "not-our-client"])
            #expect(refused.status == 77, "\(refused.printed)")
            let timeout = try await h.run(["sync", "--request-timeout", "soon"])
            #expect(timeout.status == 64 && timeout.stderr.contains("PODIO_REQUEST_TIMEOUT"), "\(timeout.printed)")
        }
    }
}
