extension PodioSimulator {
    /// How a simulator is started. Every default matches `podio-simulator --help`.
    public struct Configuration: Sendable {
        public var host: String = "127.0.0.1"
        /// 0 picks any free port.
        public var port: Int = 0
        public var seed: UInt64 = 1
        /// Items in the largest app of the standard dataset.
        public var items: Int = 1000
        /// nil = the standard dataset (sized by `items`).
        public var apps: [AppSpec]? = nil
        public var clientID: String = "podio-mirror-dev"
        public var clientSecret: String = "sim-client-secret"
        public var username: String = "demo@example.com"
        public var password: String = "sim-password"
        /// Calls per window in the rate-limited tier; 0 = unlimited.
        public var rateLimit: Int = 250
        /// Calls per window in the general tier; 0 = unlimited.
        public var rateLimitGeneral: Int = 1000
        /// Length of the rolling rate-limit window, in seconds.
        public var rateWindow: Double = 3600
        /// Lifetime of access tokens, in seconds.
        public var tokenTTL: Int = 28800
        /// `GET /app/` (undocumented; its documented sibling `GET /app/v2/` serves 4 apps unless
        /// asked for more) serves at most this many apps; nil = every active app. Podio's
        /// documented way to list apps is `GET /org/` and `GET /app/space/{id}/` per space.
        public var appListLimit: Int? = nil
        /// The user has two-step verification: the password grant answers 200 with a
        /// `server_nonce` and no token (podio-rb's MFA flow). Also switchable at run time.
        public var twoStepVerification = false
        /// Webhook URLs on loopback hosts (127.x, localhost, ::1) are accepted on any port.
        /// Podio accepts only public hosts on ports 80 and 443, which is the default here; tests
        /// and the bench turn this on. The simulator never calls any other host.
        public var allowLoopbackHooks = false
        /// How long a webhook delivery may take (connect and answer), in seconds.
        public var hookTimeout: Double = 10
        /// The clock of token lifetimes, rate windows and the token endpoint's throttle stands
        /// still but for `advanceClock(seconds:)`: tests decide when time passes, however slow
        /// the machine. Times written into items keep the wall clock. (In process only.)
        public var manualClock = false

        public init() {}
    }
}
