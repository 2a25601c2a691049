import ArgumentParser

/// The options of commands that call Podio: where, who (the secrets come from the environment
/// only), how long a request may take, and the quota.
struct PodioOptions: ParsableArguments, SettingOverrides {
    @Option(name: .long, help: "Podio API URL (overrides PODIO_API_URL).")
    var apiURL: String?

    @Option(
        name: .long,
        help: "The API key's client id (overrides PODIO_CLIENT_ID; the secret comes from the environment only).")
    var clientID: String?

    @Option(
        name: .long,
        help:
            "The Podio user of the password flow (overrides PODIO_USERNAME; the password comes from the environment only)."
    )
    var username: String?

    @Option(name: .long, help: "How long one Podio request may take: 90s, 2m (overrides PODIO_REQUEST_TIMEOUT).")
    var requestTimeout: String?

    @OptionGroup var quota: QuotaOptions

    var overrides: [(variable: String, value: String?)] {
        [
            ("PODIO_API_URL", apiURL), ("PODIO_CLIENT_ID", clientID), ("PODIO_USERNAME", username),
            ("PODIO_REQUEST_TIMEOUT", requestTimeout),
        ] + quota.overrides
    }
}
