import ArgumentParser

/// What `check` estimates the first load for: the apps, and the extras that spend the general tier.
struct CheckScopeOptions: ParsableArguments, SettingOverrides {
    @Option(
        name: .customLong("app"), help: "An app id (repeat for several; overrides PODIO_APPS; default every app).")
    var apps: [Int] = []

    @Option(name: .long, help: "Comments are mirrored: on or off (overrides PODIO_COMMENTS).")
    var comments: String?

    @Option(name: .long, help: "Podio's revisions of items: off, all, or app ids (overrides PODIO_DEEP_HISTORY).")
    var deepHistory: String?

    var overrides: [(variable: String, value: String?)] {
        [
            ("PODIO_APPS", apps.isEmpty ? nil : apps.map(String.init).joined(separator: ",")),
            ("PODIO_COMMENTS", comments),
            ("PODIO_DEEP_HISTORY", deepHistory),
        ]
    }
}
