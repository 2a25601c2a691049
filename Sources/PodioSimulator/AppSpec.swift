extension PodioSimulator {
    /// An app to create, for tests that need exact shapes.
    public struct AppSpec: Sendable {
        /// Served HTML-escaped in `config.name`.
        public var name: String
        public var urlLabel: String
        public var itemCount: Int
        public var fields: FieldSet
        /// "active" or "inactive".
        public var status: String = "active"

        public init(
            name: String, urlLabel: String, itemCount: Int, fields: FieldSet = .everyType, status: String = "active"
        ) {
            self.name = name
            self.urlLabel = urlLabel
            self.itemCount = itemCount
            self.fields = fields
            self.status = status
        }
    }

    /// The field definitions an app gets.
    public enum FieldSet: Sendable {
        /// Every field type Podio serves, with each setting variant worth testing.
        case everyType
        /// A text title, a number and a category.
        case simple
        /// Labels and external ids with quotes, backslashes, SQL keywords, control characters,
        /// non-ASCII and a 1,000-character label.
        case hostile
        /// A text title, then `fields - 1` fields cycling through ten types (number, text, money,
        /// category, timed date, progress, duration, multiple category, all-day date, email):
        /// the shape of a wide app. `fields` must be at least 1.
        case wide(fields: Int)
        /// A text title and the legacy types old apps still carry: `question` (single and
        /// multiple), `state`, `tag`, `member` and `video`.
        case legacy
    }
}
