/// One setting of podio-mirror: its variable, its option, its default, the commands that read
/// it, and whether it is a secret (`SettingCatalog.all` lists them all; docs/configuration.md is
/// made from that list).
public struct ConfigurationKey: Sendable, Equatable {
    /// Who reads the variable: `MirrorSettings.fromEnvironment`, or the command line itself
    /// (logging, `run`'s schedule, the listener, the metrics file).
    public enum Reader: String, Sendable { case settings, command }

    public var variable: String
    /// The option that overrides the variable (`--api-url`); nil for secrets, which are read
    /// from the environment (or `NAME_FILE`) only, never from arguments.
    public var option: String?
    public var defaultValue: String
    public var meaning: String
    /// A value the setting accepts (tests feed it to the reader).
    public var example: String
    /// The commands that read it (`hooks install`, `sync`, …).
    public var commands: [String]
    public var secret: Bool
    public var reader: Reader

    public init(
        _ variable: String, option: String?, defaultValue: String, example: String, commands: [String],
        secret: Bool = false, reader: Reader = .settings, _ meaning: String
    ) {
        self.variable = variable
        self.option = option
        self.defaultValue = defaultValue
        self.meaning = meaning
        self.example = example
        self.commands = commands
        self.secret = secret
        self.reader = reader
    }

    /// Secrets, and `DATABASE_URL` (which may carry a password), may be read from a file:
    /// `NAME_FILE=/run/secrets/name` (the trailing newline trimmed).
    public var fileVariable: String? { secret || variable == "DATABASE_URL" ? variable + "_FILE" : nil }

    public func isRead(by command: String) -> Bool { commands.contains(command) }
}
