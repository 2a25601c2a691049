/// A workspace inside an organization.
struct SimSpace: Sendable {
    var id: Int
    var orgID: Int
    var name: String
    var urlLabel: String
    var createdOn: Int
}
