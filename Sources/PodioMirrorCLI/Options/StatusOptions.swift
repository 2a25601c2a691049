import ArgumentParser

/// The settings `status` reads besides the quota: what it counts as pending and its schedule.
struct StatusOptions: ParsableArguments, SettingOverrides {
    @Option(name: .long, help: "Comments are mirrored: on or off (overrides PODIO_COMMENTS).")
    var comments: String?

    @Option(name: .long, help: "Podio's revisions of items: off, all, or app ids (overrides PODIO_DEEP_HISTORY).")
    var deepHistory: String?

    @Option(name: .long, help: "How long the app list is kept: 30m, 1h (overrides PODIO_APPS_REFRESH).")
    var appsRefresh: String?

    @Option(
        name: .long, help: "How often an app with active hooks gets a delta: 1h (overrides PODIO_RECONCILE_EVERY).")
    var reconcileEvery: String?

    var overrides: [(variable: String, value: String?)] {
        [
            ("PODIO_COMMENTS", comments), ("PODIO_DEEP_HISTORY", deepHistory), ("PODIO_APPS_REFRESH", appsRefresh),
            ("PODIO_RECONCILE_EVERY", reconcileEvery),
        ]
    }
}
