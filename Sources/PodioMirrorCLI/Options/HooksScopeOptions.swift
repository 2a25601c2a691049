import ArgumentParser

/// Which apps (their hooks, or what `check` estimates), and whether comments are mirrored (and
/// so get comment hooks).
struct HooksScopeOptions: ParsableArguments, SettingOverrides {
    @Option(
        name: .customLong("app"), help: "An app id (repeat for several; overrides PODIO_APPS; default every app).")
    var apps: [Int] = []

    @Option(name: .long, help: "Comments are mirrored (and get comment hooks): on or off (overrides PODIO_COMMENTS).")
    var comments: String?

    var overrides: [(variable: String, value: String?)] {
        [
            ("PODIO_APPS", apps.isEmpty ? nil : apps.map(String.init).joined(separator: ",")),
            ("PODIO_COMMENTS", comments),
        ]
    }
}
