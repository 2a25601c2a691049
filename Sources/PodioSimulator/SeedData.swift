/// Fixed reference data: the simulated user, contact profiles and locations.
enum SeedData {
    static let userID = 1_000_001
    static let userProfileID = 2_000_001
    static let userName = "Demo User"

    /// The byline of the simulated user (`created_by`).
    static let userByline: JSON = .obj([
        "type": .string("user"),
        "id": .int(userID),
        "user_id": .int(userID),
        "name": .string(userName),
        "url": .string("https://podio.com/users/\(userID)"),
        "avatar": .null,
        "avatar_type": .null,
        "last_seen_on": .string(PodioTime.format(PodioTime.base)),
    ])

    /// `created_via` of everything the simulator creates.
    static let createdVia: JSON = .obj([
        "id": .int(1),
        "name": .string("Podio"),
        "auth_client_id": .int(1),
        "display": .bool(false),
        "url": .null,
    ])

    static let rights: JSON = .array(
        ["view", "update", "delete", "comment", "rate", "subscribe", "add_file", "add_task"].map(JSON.string))

    static let profiles: [JSON] = [
        profile(0, "Ada Lovelace", "ada@example.com"),
        profile(1, "Søren Kierkegaard", "soren@example.dk"),
        profile(2, "Zoë \"Z\" O'Brien", "zoe@example.ie"),
        profile(3, "李小龍", "bruce@example.hk"),
        profile(4, "Robert'); DROP TABLE students;--", "bobby@example.com"),
    ]

    private static func profile(_ index: Int, _ name: String, _ mail: String) -> JSON {
        let userID = 1_000_100 + index
        return .obj([
            "profile_id": .int(2_000_100 + index),
            "user_id": .int(userID),
            "type": .string("user"),
            "name": .string(name),
            "mail": .array([.string(mail)]),
            "phone": .array([.string("+4520\(100_000 + index)")]),
            "avatar": .null,
            "link": .string("https://podio.com/users/\(userID)"),
            "external_id": .null,
            "org_id": .null,
            "space_id": .null,
            "last_seen_on": .string(PodioTime.format(PodioTime.base + index * 3600)),
        ])
    }

    static let locations: [JSON] = [
        location(
            "Champ de Mars, 5 Avenue Anatole France, 75007 Paris, France", "5 Avenue Anatole France", "75007", "Paris",
            "Île-de-France", "France", 48.8583701, 2.2944813),
        location(
            "Bahnhofstrasse 1, 8001 Zürich, Switzerland", "Bahnhofstrasse 1", "8001", "Zürich", "Zürich", "Switzerland",
            47.3686498, 8.5391825),
        location(
            "1-1 Marunouchi, Chiyoda City, Tokyo 100-0005, Japan", "1-1 Marunouchi", "100-0005", "東京", "Tokyo", "Japan",
            35.6812362, 139.7671248),
        location(
            "Rådhuspladsen 1, 1550 København V, Denmark", "Rådhuspladsen 1", "1550", "København", "Capital Region",
            "Denmark", 55.6760968, 12.5683371),
        location(
            "Av. Paulista, 1578 - Bela Vista, São Paulo - SP, Brazil", "Av. Paulista, 1578", "01310-200", "São Paulo",
            "SP", "Brazil", -23.5613545, -46.6559810),
    ]

    private static func location(
        _ value: String, _ street: String, _ postal: String, _ city: String, _ state: String,
        _ country: String, _ lat: Double, _ lng: Double
    ) -> JSON {
        .obj([
            "value": .string(value),
            "formatted": .string(value),
            "street_address": .string(street),
            "postal_code": .string(postal),
            "city": .string(city),
            "state": .string(state),
            "country": .string(country),
            "lat": .double(lat),
            "lng": .double(lng),
            "map_in_sync": .bool(true),
        ])
    }
}
