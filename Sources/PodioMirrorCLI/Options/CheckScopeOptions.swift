import ArgumentParser

/// What `check` estimates the first load for: the apps and comments (as for hooks,
/// `HooksScopeOptions`), and deep history, which spends the general tier.
struct CheckScopeOptions: ParsableArguments, SettingOverrides {
    @OptionGroup var scope: HooksScopeOptions

    @Option(name: .long, help: "Podio's revisions of items: off, all, or app ids (overrides PODIO_DEEP_HISTORY).")
    var deepHistory: String?

    var overrides: [(variable: String, value: String?)] {
        scope.overrides + [("PODIO_DEEP_HISTORY", deepHistory)]
    }
}
