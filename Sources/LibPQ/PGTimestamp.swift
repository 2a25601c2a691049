import Foundation

/// Converts between `Date` and PostgreSQL's ISO text form of `timestamptz`.
///
/// The session runs with `TimeZone=UTC` and `DateStyle=ISO`, so the server prints
/// `2024-05-01 12:34:56.123456+00`. Parsing is done by hand: it is on the hot path of reads
/// and must not depend on the process's locale or time zone.
public enum PGTimestamp {
    /// Formats a date as `YYYY-MM-DD HH:MM:SS.ffffff+00`.
    public static func format(_ date: Date) -> String {
        let totalMicros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        var seconds = Int64((totalMicros / 1_000_000).rounded(.down))
        let micros = Int64(totalMicros) - seconds * 1_000_000
        let days = floorDiv(seconds, 86_400)
        seconds -= days * 86_400
        let (y, m, d) = civil(fromDays: days)
        let h = seconds / 3600, mi = (seconds % 3600) / 60, s = seconds % 60
        return String(
            format: "%04lld-%02lld-%02lld %02lld:%02lld:%02lld.%06lld+00", y, m, d, h, mi, s, micros)
    }

    /// Parses `YYYY-MM-DD[ T]HH:MM:SS[.f…][+HH[:MM]|Z]`; a missing offset means UTC.
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func num(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= b.count else { return nil }
            var v: Int64 = 0
            for i in start..<start + count {
                let c = b[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard b.count >= 10, let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2)
        else { return nil }
        var h: Int64 = 0, mi: Int64 = 0, s: Int64 = 0
        var frac = 0.0
        var i = 10
        if b.count > 10 {
            guard b[10] == 32 || b[10] == 84, let hh = num(11, 2), b.count > 13, b[13] == 58, let mm = num(14, 2),
                b.count > 16, b[16] == 58, let ss = num(17, 2)
            else { return nil }
            h = hh
            mi = mm
            s = ss
            i = 19
            if i < b.count, b[i] == 46 {
                i += 1
                var scale = 0.1
                while i < b.count, b[i] >= 48, b[i] <= 57 {
                    frac += Double(b[i] - 48) * scale
                    scale /= 10
                    i += 1
                }
            }
        }
        var offset: Int64 = 0
        if i < b.count {
            if b[i] == 90 {
                i += 1
            } else if b[i] == 43 || b[i] == 45 {
                let sign: Int64 = b[i] == 45 ? -1 : 1
                guard let oh = num(i + 1, 2) else { return nil }
                var om: Int64 = 0
                if i + 3 < b.count, b[i + 3] == 58, let m = num(i + 4, 2) {
                    om = m
                } else if let m = num(i + 3, 2) {
                    om = m
                }
                offset = sign * (oh * 3600 + om * 60)
            } else {
                return nil
            }
        }
        guard (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        let days = days(fromCivil: y, mo, d)
        let epoch = days * 86_400 + h * 3600 + mi * 60 + s - offset
        return Date(timeIntervalSince1970: Double(epoch) + frac)
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        (a >= 0 ? a : a - b + 1) / b
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian).
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
