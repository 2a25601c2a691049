import Foundation

/// Podio's date/time strings: `YYYY-MM-DD HH:MM:SS`, UTC, whole seconds, no `T`, no zone.
/// Times are handled as seconds since the Unix epoch (`Int`).
enum PodioTime {
    /// 2024-01-01 00:00:00 UTC: every seeded time is derived from this fixed base.
    static let base = 1_704_067_200
    static let day = 86_400

    /// The real current time in whole seconds (used only for control-API mutations).
    static func now() -> Int {
        Int(Date().timeIntervalSince1970)
    }

    /// `YYYY-MM-DD HH:MM:SS`
    static func format(_ seconds: Int) -> String {
        "\(formatDate(seconds)) \(formatTime(seconds))"
    }

    /// `YYYY-MM-DD`
    static func formatDate(_ seconds: Int) -> String {
        let (year, month, dayOfMonth) = civil(fromDays: floorDiv(seconds, day))
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(dayOfMonth, 2))"
    }

    /// `HH:MM:SS`
    static func formatTime(_ seconds: Int) -> String {
        let inDay = seconds - floorDiv(seconds, day) * day
        return "\(pad(inDay / 3600, 2)):\(pad(inDay / 60 % 60, 2)):\(pad(inDay % 60, 2))"
    }

    /// Parses `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` (UTC). A date-only value means the start
    /// of the day, or its last second when `endOfDay` is set (an inclusive `to` bound).
    static func parse(_ text: String, endOfDay: Bool) -> Int? {
        let bytes = Array(text.utf8)
        guard bytes.count == 10 || bytes.count == 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for position in range {
                let byte = bytes[position]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(0..<4), let month = number(5..<7), let dayOfMonth = number(8..<10),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(dayOfMonth)
        else { return nil }
        let dayStart = days(fromCivil: year, month, dayOfMonth) * day
        if bytes.count == 10 {
            return endOfDay ? dayStart + day - 1 : dayStart
        }
        guard bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            hour < 24, minute < 60, second < 60
        else { return nil }
        return dayStart + hour * 3600 + minute * 60 + second
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    private static func floorDiv(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    /// Days since 1970-01-01 to (year, month, day); Howard Hinnant's algorithm.
    private static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let dayOfMonth = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, dayOfMonth)
    }

    private static func days(fromCivil year: Int, _ month: Int, _ dayOfMonth: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + dayOfMonth - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
