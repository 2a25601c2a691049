import ArgumentParser
import PodioMirror

/// `podio-mirror config-reference` (hidden): docs/configuration.md, made from `SettingCatalog`.
struct ConfigReferenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config-reference", abstract: "Prints docs/configuration.md (from the settings table).",
        shouldDisplay: false)

    func run() throws {
        print(SettingCatalog.markdown(), terminator: "")
    }
}
