extension PodioSimulator {
    /// A webhook as the simulator holds it, with its delivery counters (`GET /_sim/hooks`).
    public struct HookInfo: Sendable, Equatable, Codable {
        public var hookID: Int
        public var appID: Int
        public var type: String
        /// As registered (query string included).
        public var url: String
        /// "active" or "inactive".
        public var status: String
        /// The code of the last `hook.verify` sent (what `verify/validate` accepts).
        public var code: String
        public var deleted: Bool
        /// `hook.verify` POSTs sent.
        public var verifications: Int
        /// Deliveries answered 2xx.
        public var delivered: Int
        /// Deliveries answered non-2xx, timed out, refused, or to a host the simulator never calls.
        public var failed: Int
        /// Deliveries the `dropRate` fault swallowed.
        public var dropped: Int
        /// Extra copies sent by the `duplicateRate` fault.
        public var duplicated: Int
        /// Events not delivered because the change was made with `hook=false`.
        public var suppressed: Int
        /// Failed deliveries in a row (reset by a delivered one).
        public var consecutiveFailures: Int
    }
}
