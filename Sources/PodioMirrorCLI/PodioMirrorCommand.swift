import ArgumentParser
public struct PodioMirrorCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "podio-mirror", abstract: "Keeps a PostgreSQL database in step with Podio.")
    public init() {}
}
