import Foundation

/// Podio's time formats: `YYYY-MM-DD HH:MM:SS` (always UTC for system times) and `YYYY-MM-DD`.
public enum PodioTime {
    /// Parses `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` as UTC; nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 10 || b.count == 19 else { return nil }
        func num(_ s: Int, _ n: Int) -> Int64? {
            var v: Int64 = 0
            for i in s..<s + n {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), b[4] == 45, let m = num(5, 2), b[7] == 45, let d = num(8, 2),
            (1...12).contains(m), d >= 1, d <= daysIn(month: m, year: y)
        else { return nil }
        var seconds: Int64 = 0
        if b.count == 19 {
            guard b[10] == 32, let h = num(11, 2), b[13] == 58, let mi = num(14, 2), b[16] == 58, let s = num(17, 2),
                h < 24, mi < 60, s < 60
            else { return nil }
            seconds = h * 3600 + mi * 60 + s
        }
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Date(timeIntervalSince1970: Double(days * 86_400 + seconds))
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Formats a date as `YYYY-MM-DD HH:MM:SS` in UTC (whole seconds, rounded down).
    public static func format(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0,
            c.second ?? 0)
    }

    /// A Podio decimal string ("6513.5100", "-0.5000") as an exact `Decimal`; nil for anything
    /// that is not `-?digits[.digits]` (no partial parses such as "1-2" → 1).
    public static func decimal(_ text: String) -> Decimal? {
        var digits = text.utf8[...]
        if digits.first == 45 { digits = digits.dropFirst() }
        let parts = digits.split(separator: 46, maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            parts.count == 1 || (!parts[1].isEmpty && parts[1].allSatisfy { $0 >= 48 && $0 <= 57 })
        else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }
}
