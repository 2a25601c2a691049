import ArgumentParser

/// What a sync reads besides Podio and the quota (`sync`, `resync`, `run`).
struct EngineOptions: ParsableArguments, SettingOverrides {
    @Option(
        name: .long,
        help: "How long a gap an ID sweep explained goes unswept: 6h, 24h (overrides PODIO_SWEEP_INTERVAL).")
    var sweepInterval: String?

    @Option(
        name: .long,
        help: "Keep an item's previous state when its revision changes: on or off (overrides PODIO_HISTORY).")
    var history: String?

    @Option(name: .long, help: "Mirror the comments of items: on or off (overrides PODIO_COMMENTS).")
    var comments: String?

    @Option(name: .long, help: "Podio's revisions of items: off, all, or app ids (overrides PODIO_DEEP_HISTORY).")
    var deepHistory: String?

    @Option(name: .long, help: "Download the attached files into this directory, or off (overrides PODIO_FILES).")
    var downloadFiles: String?

    @Option(name: .long, help: "How often the app list is asked of Podio: 30m, 1h (overrides PODIO_APPS_REFRESH).")
    var appsRefresh: String?

    @Option(
        name: .long,
        help:
            "Pending items of an app served by one delta listing instead of item reads (overrides PODIO_HOOK_DELTA_AT)."
    )
    var hookDeltaAt: String?

    @Option(
        name: .long,
        help:
            "Apps of at most this many items are listed whole instead of by a delta: 0 to 500 (overrides PODIO_LISTING_MAX_ITEMS)."
    )
    var listingMaxItems: String?

    @Option(
        name: .long,
        help: "How long after an edit its webhook may still be on its way: 30s (overrides PODIO_HOOK_GRACE).")
    var hookGrace: String?

    @Option(
        name: .long,
        help: "The label of the user's quota in the metrics (overrides PODIO_IDENTITY_LABEL; default: kind and hash).")
    var identityLabel: String?

    var overrides: [(variable: String, value: String?)] {
        [
            ("PODIO_SWEEP_INTERVAL", sweepInterval), ("PODIO_HISTORY", history), ("PODIO_COMMENTS", comments),
            ("PODIO_DEEP_HISTORY", deepHistory), ("PODIO_FILES", downloadFiles), ("PODIO_APPS_REFRESH", appsRefresh),
            ("PODIO_HOOK_DELTA_AT", hookDeltaAt), ("PODIO_LISTING_MAX_ITEMS", listingMaxItems),
            ("PODIO_HOOK_GRACE", hookGrace),
            ("PODIO_IDENTITY_LABEL", identityLabel),
        ]
    }
}
