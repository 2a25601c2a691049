import Foundation

/// Generates the `values` array of one field of one item, deterministically from the
/// item's seed. App reference values are resolved by the renderer (they need other items).
enum ValueGenerator {
    /// The fixed offset of the simulated user's profile time zone (the local date sub-keys).
    /// Podio renders local dates in the user's zone; the simulator uses a fixed UTC+01:00.
    static let localOffset = 3600

    static let hostileStrings = [
        "'); DROP TABLE items;--",
        "Zoë \"the boss\" O'Brien",
        "Tab\there, new\nline and CR\r\nend",
        "emoji 🚀🎉 👩‍👩‍👧 and flags 🇩🇰",
        "back\\slash \\u0000 and \\n literally",
        "Ünïcödé — ça va? 日本語のテキスト، مرحبا",
        "<script>alert('x')</script> & <b>bold</b>",
        "NULL",
        "SELECT * FROM \"items\" WHERE 1=1; --",
        "bell\u{7} escape\u{1b} unit\u{1f} chars",
    ]

    static let words = [
        "alpha", "budget", "review", "launch", "café", "Zürich", "naïve", "delta", "roadmap", "Ålborg",
        "migration", "sprint", "résumé", "東京", "pilot", "audit", "quarterly", "Øresund", "kick-off", "retro",
    ]

    static func rng(_ item: SimItem, _ field: SimField) -> SplitMix64 {
        SplitMix64(seed: item.valueSeed, UInt64(field.id), item.valueVersion)
    }

    /// A title for a seeded or generated item.
    static func title(seed: UInt64, appItemID: Int, version: UInt64) -> String {
        var random = SplitMix64(seed: seed, 0x7171, version)
        if appItemID % 17 == 5 { return random.pick(hostileStrings).replacingOccurrences(of: "\n", with: " ") }
        let first = random.pick(words).capitalized
        let second = random.pick(words)
        let suffix = version > 0 ? " (rev \(version))" : ""
        return "\(first) \(second) #\(appItemID)\(suffix)"
    }

    /// The values of `field` for `item`, or nil when the item has no value there.
    static func values(field: SimField, item: SimItem) -> [JSON]? {
        var random = rng(item, field)
        if field.role == .title {
            return item.title.isEmpty ? nil : [.obj(["value": .string(item.title)])]
        }
        if !item.fillAll && !random.chance(0.85) { return nil }
        // Positions of hard values (zero, negative); edits leave them, so values surely change.
        let hard = item.valueVersion == 0 ? item.appItemID % 10 : 5
        switch field.type {
        case "text":
            return [.obj(["value": .string(text(field: field, item: item, random: &random))])]
        case "number":
            let hundredths: Int = hard == 0 ? 0 : (hard == 1 ? -random.int(1...99_999_99) : random.int(1...99_999_999))
            return [.obj(["value": .string(decimal(hundredths))])]
        case "money":
            let currencies = field.settings["allowed_currencies"]?.arrayValue?.compactMap(\.stringValue) ?? ["EUR"]
            let thousandths: Int = hard == 0 ? 0 : (hard == 1 ? -random.int(1...9_999_999) : random.int(1...99_999_999))
            return [
                .obj([
                    "value": .string(decimalThousandths(thousandths)),
                    "currency": .string(currencies.isEmpty ? "EUR" : random.pick(currencies)),
                ])
            ]
        case "progress":
            return [.obj(["value": .int(hard == 0 ? 0 : random.int(1...100))])]
        case "duration":
            return [.obj(["value": .int(hard == 0 ? 0 : random.int(60...900_000))])]
        case "category", "question":
            return category(field: field, random: &random)
        case "state":
            let allowed = field.settings["allowed_values"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return allowed.isEmpty ? nil : [.obj(["value": .string(random.pick(allowed))])]
        case "tag":
            let tags = ["Acme", "Ünïcorp & Co", "O'Brien \"Ltd\"", "東京支店", "beta"]
            let count = random.int(1...3)
            let first = random.int(0...(tags.count - 1))
            return (0..<count).map { .obj(["value": .string(tags[(first + $0) % tags.count])]) }
        case "member":
            let count = random.int(1...2)
            let first = random.int(0...(SeedData.profiles.count - 1))
            return (0..<count).compactMap { offset in
                SeedData.profiles[(first + offset) % SeedData.profiles.count]["user_id"].map { .obj(["value": $0]) }
            }
        case "video":
            return [.obj(["value": .int(500_000_000 + item.itemID % 100_000_000 * 7 + field.id % 7)])]
        case "date":
            return [date(settings: field.settings, random: &random)]
        case "contact":
            let count = random.int(1...2)
            let first = random.int(0...(SeedData.profiles.count - 1))
            return (0..<count).map { .obj(["value": SeedData.profiles[(first + $0) % SeedData.profiles.count]]) }
        case "location":
            return [SeedData.locations[random.int(0...(SeedData.locations.count - 1))]]
        case "embed":
            return [embed(item: item, field: field, random: &random)]
        case "image", "file":
            return [.obj(["value": file(item: item, field: field, image: field.type == "image", random: &random)])]
        case "email":
            let kinds = ["work", "home", "other"]
            let count = random.int(1...2)
            return (0..<count).map { index in
                .obj([
                    "type": .string(kinds[index % 3]), "value": .string("user\(item.appItemID).\(index)@example.com"),
                ])
            }
        case "phone":
            let kinds = ["mobile", "work", "home"]
            let count = random.int(1...2)
            return (0..<count).map { index in
                .obj(["type": .string(kinds[index % 3]), "value": .string("+45\(random.int(20_000_000...99_999_999))")])
            }
        case "tel":
            let number = "+4512\(random.int(100_000...999_999))"
            return [.obj(["value": .string(number), "uri": .string("tel:\(number)")])]
        case "calculation":
            if field.settings["return_type"]?.stringValue == "date" {
                let day = PodioTime.base + random.int(0...400) * PodioTime.day
                return [dateKeys(prefix: "start", utc: day, local: day, timed: true)]
            }
            let hundredths = hard == 1 ? -random.int(1...99_999) : random.int(0...9_999_999)
            return [.obj(["value": .string(decimal(hundredths))])]
        default:
            return nil
        }
    }

    private static func text(field: SimField, item: SimItem, random: inout SplitMix64) -> String {
        switch field.role {
        case .richText:
            if item.appItemID == 3 {
                // One item carries more than 10 KB of text.
                let paragraph = "<p>Lorem ipsum dolor sit amet — Ünïcödé ✓, \"quotes\" &amp; 'apostrophes'. 🚀</p>"
                return String(repeating: paragraph, count: 140)
            }
            return
                "<p>\(random.pick(words).capitalized) \(random.pick(words)) for item \(item.appItemID).</p><p>\(random.pick(hostileStrings).replacingOccurrences(of: "<", with: "&lt;"))</p>"
        case .hostileText:
            return hostileStrings[(item.appItemID + Int(item.valueVersion)) % hostileStrings.count]
        default:
            if field.settings["format"]?.stringValue == "html" {
                return "<p>\(random.pick(words)) \(random.pick(words))</p>"
            }
            return "\(random.pick(words)) \(random.pick(words)) \(random.int(1...9999))"
        }
    }

    private static func category(field: SimField, random: inout SplitMix64) -> [JSON]? {
        let options = field.activeOptions
        guard !options.isEmpty else { return nil }
        let multiple = field.settings["multiple"]?.boolValue ?? false
        let count = multiple ? random.int(1...min(3, options.count)) : 1
        let first = random.int(0...(options.count - 1))
        return (0..<count).map { .obj(["value": options[(first + $0) % options.count]]) }
    }

    /// A date value: timed (local and `_utc` keys), with an end when `end` is enabled, or
    /// all-day (strict shape: date-only `start`/`start_utc`, time keys null, end = start).
    static func date(settings: JSON, random: inout SplitMix64) -> JSON {
        let timed = settings["time"]?.stringValue != "disabled"
        let hasEnd = settings["end"]?.stringValue == "enabled" || settings["end"]?.stringValue == "required"
        let startDay = PodioTime.base + random.int(0...500) * PodioTime.day
        if !timed {
            var value = dateKeys(prefix: "start", utc: startDay, local: startDay, timed: false)
            let endDay = hasEnd ? startDay + random.int(0...5) * PodioTime.day : startDay
            for member in dateMembers(prefix: "end", utc: endDay, local: endDay, timed: false) {
                value.append(member.key, member.value)
            }
            return value
        }
        // Times are whole quarter hours (Podio's date picker).
        let start = startDay + random.int(0...95) * 900
        var value = dateKeys(prefix: "start", utc: start, local: start + localOffset, timed: true)
        if hasEnd {
            let end = start + random.int(1...96) * 900
            for member in dateMembers(prefix: "end", utc: end, local: end + localOffset, timed: true) {
                value.append(member.key, member.value)
            }
        }
        return value
    }

    static func dateKeys(prefix: String, utc: Int, local: Int, timed: Bool) -> JSON {
        .object(dateMembers(prefix: prefix, utc: utc, local: local, timed: timed))
    }

    private static func dateMembers(prefix: String, utc: Int, local: Int, timed: Bool) -> [JSONMember] {
        if timed {
            return [
                JSONMember(key: prefix, value: .string(PodioTime.format(local))),
                JSONMember(key: "\(prefix)_date", value: .string(PodioTime.formatDate(local))),
                JSONMember(key: "\(prefix)_time", value: .string(PodioTime.formatTime(local))),
                JSONMember(key: "\(prefix)_utc", value: .string(PodioTime.format(utc))),
                JSONMember(key: "\(prefix)_date_utc", value: .string(PodioTime.formatDate(utc))),
                JSONMember(key: "\(prefix)_time_utc", value: .string(PodioTime.formatTime(utc))),
            ]
        }
        return [
            JSONMember(key: prefix, value: .string(PodioTime.formatDate(local))),
            JSONMember(key: "\(prefix)_date", value: .string(PodioTime.formatDate(local))),
            JSONMember(key: "\(prefix)_time", value: .null),
            JSONMember(key: "\(prefix)_utc", value: .string(PodioTime.formatDate(utc))),
            JSONMember(key: "\(prefix)_date_utc", value: .string(PodioTime.formatDate(utc))),
            JSONMember(key: "\(prefix)_time_utc", value: .null),
        ]
    }

    static func file(item: SimItem, field: SimField, image: Bool, random: inout SplitMix64) -> JSON {
        let fileID = 400_000_000 + item.itemID % 100_000_000 * 7 + field.id % 7
        let name = image ? "photo-\(item.appItemID).jpg" : "Ünïcödé report \(item.appItemID) (final).pdf"
        return .obj([
            "file_id": .int(fileID),
            "name": .string(name),
            "mimetype": .string(image ? "image/jpeg" : "application/pdf"),
            "size": .int(random.int(1_000...5_000_000)),
            "link": .string("https://files.podio.com/\(fileID)"),
            "thumbnail_link": .string("https://files.podio.com/\(fileID)/thumb"),
            "hosted_by": .string("podio"),
            "perma_link": .null,
            "description": .null,
            "created_on": .string(PodioTime.format(item.createdOn)),
        ])
    }

    private static func embed(item: SimItem, field: SimField, random: inout SplitMix64) -> JSON {
        let host = random.pick(["example.com", "example.org", "xn--bcher-kva.example"])
        let url = "https://\(host)/page/\(item.appItemID)?q=a&b=\"c\""
        let withFile = random.chance(0.5)
        return .obj([
            "embed": .obj([
                "embed_id": .int(100_000_000 + item.itemID % 100_000_000),
                "type": .string("link"),
                "original_url": .string(url),
                "resolved_url": .string(url),
                "url": .string(url),
                "hostname": .string(host),
                "title": .string("Page \(item.appItemID) — Ünïcödé"),
                "description": .null,
                "embed_html": .null,
                "embed_width": .null,
                "embed_height": .null,
            ]),
            "file": withFile ? file(item: item, field: field, image: true, random: &random) : .null,
        ])
    }

    /// "6513.5100" from 651351 hundredths (Podio's 4-decimal number strings).
    static func decimal(_ hundredths: Int) -> String {
        let sign = hundredths < 0 ? "-" : ""
        let magnitude = hundredths.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)00"
    }

    /// "541.9870" from 541987 thousandths.
    static func decimalThousandths(_ thousandths: Int) -> String {
        let sign = thousandths < 0 ? "-" : ""
        let magnitude = thousandths.magnitude
        let fraction = String(magnitude % 1000)
        return "\(sign)\(magnitude / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)0"
    }
}
