/// An organization of the simulated account.
struct SimOrg: Sendable {
    var id: Int
    var name: String
    var urlLabel: String
    var createdOn: Int
}
