import Foundation
import PodioMirror
import Testing

/// The table of settings (`SettingCatalog`) against what `MirrorSettings` reads, the `NAME_FILE`
/// form of secrets, the env file's format, and docs/configuration.md.
@Suite("Setting catalog")
struct SettingCatalogTests {
    /// Driven, not grepped: every variable `MirrorSettings.fromEnvironment` asks for is in the
    /// table as read by the settings, and every such entry is asked for (given its example,
    /// which must also be accepted).
    @Test func theTableIsWhatTheSettingsRead() throws {
        var asked = Set<String>()
        let examples = Dictionary(uniqueKeysWithValues: SettingCatalog.all.map { ($0.variable, $0.example) })
        _ = try MirrorSettings.fromEnvironment(lookup: { name in
            asked.insert(name)
            return examples[name]
        })
        let table = Set(SettingCatalog.all.filter { $0.reader == .settings }.map(\.variable))
        #expect(asked.subtracting(table).isEmpty, "read but not in the table: \(asked.subtracting(table).sorted())")
        #expect(table.subtracting(asked).isEmpty, "in the table but not read: \(table.subtracting(asked).sorted())")
    }

    /// Secrets have no option (arguments show in `ps`) and a `_FILE` form; every other setting
    /// has an option of its own, and every entry names the commands that read it.
    @Test func everySettingHasAnOptionExceptSecrets() {
        var options = Set<String>()
        for key in SettingCatalog.all {
            if key.secret {
                #expect(key.option == nil, "\(key.variable) is a secret with an option")
                #expect(key.fileVariable == key.variable + "_FILE")
            } else {
                let option = key.option ?? ""
                #expect(option.hasPrefix("--"), "\(key.variable) has no option")
                #expect(options.insert(option).inserted, "\(option) serves two variables")
            }
            #expect(!key.commands.isEmpty, "\(key.variable) is read by no command")
            #expect(key.commands.allSatisfy(SettingCatalog.Command.all.contains), "\(key.variable): \(key.commands)")
        }
        #expect(Set(SettingCatalog.all.map(\.variable)).count == SettingCatalog.all.count)
    }

    @Test func aSecretIsReadFromItsFile() throws {
        let files = [
            "/run/secrets/password": Data("s3cret pass\n".utf8), "/run/secrets/url": Data("host=db\r\n\n".utf8),
        ]
        let env = try SettingCatalog.resolvingFiles(
            ["PODIO_PASSWORD_FILE": "/run/secrets/password", "DATABASE_URL_FILE": "/run/secrets/url", "X": "y"],
            read: { files[$0] })
        #expect(env["PODIO_PASSWORD"] == "s3cret pass")
        #expect(env["DATABASE_URL"] == "host=db")
        #expect(env["PODIO_PASSWORD_FILE"] == nil && env["X"] == "y")

        let both = #expect(throws: MirrorError.self) {
            try SettingCatalog.resolvingFiles(
                ["PODIO_PASSWORD": "a", "PODIO_PASSWORD_FILE": "/run/secrets/password"], read: { files[$0] })
        }
        #expect(
            both?.category == .usage && both?.message.contains("both PODIO_PASSWORD and PODIO_PASSWORD_FILE") == true)
        let missing = #expect(throws: MirrorError.self) {
            try SettingCatalog.resolvingFiles(["PODIO_CLIENT_SECRET_FILE": "/nowhere"], read: { files[$0] })
        }
        // The path is not echoed: `NAME_FILE=<the secret itself>` is a common slip.
        #expect(missing?.category == .usage && missing?.message.contains("does not name a readable file") == true)
        #expect(missing?.message.contains("/nowhere") == false)
    }

    @Test func theEnvFileFormat() throws {
        let text = """
            # a comment
              
            PLAIN=value with spaces  
            export EXPORTED=1
            SINGLE='it''s $HOME # not a comment'
            DOUBLE="a \\"quoted\\" \\\\ line\\nnext"
            EMPTY=
            HASH=abc#def
            WINDOWS=crlf\r
            """
        let env = try EnvironmentFile.parse(text, path: "/etc/x.env")
        #expect(env["PLAIN"] == "value with spaces")
        #expect(env["EXPORTED"] == "1")
        #expect(env["SINGLE"] == "it''s $HOME # not a comment")
        #expect(env["DOUBLE"] == "a \"quoted\" \\ line\nnext")
        #expect(env["EMPTY"] == "")
        #expect(env["HASH"] == "abc#def")
        #expect(env["WINDOWS"] == "crlf")
        #expect(env.count == 7)

        let bad = #expect(throws: MirrorError.self) {
            try EnvironmentFile.parse("OK=1\nPODIO_PASSWORD hunter2\n", path: "/etc/x.env")
        }
        #expect(bad?.message.contains("/etc/x.env, line 2") == true, "\(String(describing: bad))")
        #expect(bad?.description.contains("hunter2") == false)
        #expect(throws: MirrorError.self) { try EnvironmentFile.parse("A=\"open\n", path: "f") }
        #expect(throws: MirrorError.self) { try EnvironmentFile.parse("1A=x\n", path: "f") }

        // The real environment wins; an empty variable does not hide the file's value.
        let merged = EnvironmentFile.merged(["A": "file", "B": "file", "C": "file"], under: ["A": "env", "B": ""])
        #expect(merged == ["A": "env", "B": "file", "C": "file"])

        let missing = #expect(throws: MirrorError.self) { try EnvironmentFile.load("/nonexistent/podio.env") }
        #expect(missing?.category == .usage && missing?.message.contains("no such file") == true)
    }

    /// docs/configuration.md is the table's (`podio-mirror config-reference > docs/configuration.md`).
    @Test func theCommittedReferenceIsCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let committed = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        #expect(
            committed == SettingCatalog.markdown(),
            "docs/configuration.md is stale: run `podio-mirror config-reference > docs/configuration.md`")
        for key in SettingCatalog.all { #expect(committed.contains("`\(key.variable)`")) }
    }

    /// The quota's identity label is the kind and a hash: never the user's name or email.
    @Test func identityLabelsCarryNoPersonalData() {
        let user = MirrorMetrics.identityLabel("user:client-1:ann@example.com")
        #expect(user.wholeMatch(of: /user-[0-9a-f]{8}/) != nil, "\(user)")
        #expect(!user.contains("ann") && !user.contains("example"))
        #expect(MirrorMetrics.identityLabel("user:client-1:ann@example.com") == user)
        #expect(MirrorMetrics.identityLabel("user:client-1:bob@example.com") != user)
        #expect(MirrorMetrics.identityLabel("app:client-1:123").hasPrefix("app-"))
        #expect(MirrorMetrics.identityLabel("user:client-1:ann@example.com", configured: "service") == "service")
        #expect(MirrorMetrics.identityLabel("app:client-1:123", configured: "service").hasPrefix("app-"))
    }
}
