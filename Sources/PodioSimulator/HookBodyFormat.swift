extension PodioSimulator {
    /// How the simulator encodes a webhook delivery's body. Podio documents a POST whose fields
    /// the official clients read from `$_POST` / `Request[...]`, but not its content type
    /// (reference §12, third review): each encoding a receiver could meet.
    public enum HookBodyFormat: String, Sendable, Equatable, CaseIterable {
        /// `application/x-www-form-urlencoded` (the default).
        case form
        /// `multipart/form-data`, one part per field.
        case multipart
        /// `application/json`, one object; ids as JSON numbers, other values as strings.
        case json
    }
}
