import ArgumentParser

/// The quota the ledger keeps to (commands that call Podio, and `status`).
struct QuotaOptions: ParsableArguments, SettingOverrides {
    @Option(name: .long, help: "Calls per window for rate-limited operations (overrides PODIO_RATE_LIMIT).")
    var rateLimit: String?

    @Option(name: .long, help: "Calls per window for other operations (overrides PODIO_RATE_LIMIT_GENERAL).")
    var rateLimitGeneral: String?

    @Option(name: .long, help: "The quota window: 90s, 15m, 1h (overrides PODIO_RATE_WINDOW).")
    var rateWindow: String?

    @Option(name: .long, help: "Percent of each quota left for other tools (overrides PODIO_RATE_RESERVE).")
    var rateReserve: String?

    var overrides: [(variable: String, value: String?)] {
        [
            ("PODIO_RATE_LIMIT", rateLimit), ("PODIO_RATE_LIMIT_GENERAL", rateLimitGeneral),
            ("PODIO_RATE_WINDOW", rateWindow), ("PODIO_RATE_RESERVE", rateReserve),
        ]
    }
}
