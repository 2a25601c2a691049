import ArgumentParser

/// Which apps' hooks, and of which types (comment hooks when comments are mirrored).
struct HooksScopeOptions: ParsableArguments, SettingOverrides {
    @Option(
        name: .customLong("app"), help: "An app id (repeat for several; overrides PODIO_APPS; default every app).")
    var apps: [Int] = []

    @Option(name: .long, help: "Comments are mirrored, so comment hooks too: on or off (overrides PODIO_COMMENTS).")
    var comments: String?

    var overrides: [(variable: String, value: String?)] {
        [
            ("PODIO_APPS", apps.isEmpty ? nil : apps.map(String.init).joined(separator: ",")),
            ("PODIO_COMMENTS", comments),
        ]
    }
}
