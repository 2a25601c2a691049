import Foundation

/// Reads durations as the configuration writes them: `90s`, `15m`, `1h`, `2d` or plain seconds.
public enum DurationParser {
    /// Seconds, or nil when the text is not a duration.
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let last = trimmed.last else { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = units[last] {
            guard let value = Double(trimmed.dropLast()), value >= 0, value.isFinite else { return nil }
            return value * unit
        }
        guard let value = Double(trimmed), value >= 0, value.isFinite else { return nil }
        return value
    }

    /// `90s`, `15m`, `1h` style text for people.
    public static func describe(_ seconds: Double) -> String {
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return String(format: "%.1fs", seconds)
    }

    /// A span for people, to its two largest units: `12s`, `47m 5s`, `3h 5m`, `2d 3h`.
    public static func approximate(_ seconds: Double) -> String {
        let total = Int(max(0, seconds).rounded())
        let units: [(Int, String)] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")]
        guard let first = units.firstIndex(where: { total >= $0.0 }) else { return "0s" }
        let (size, name) = units[first]
        var text = "\(total / size)\(name)"
        if first + 1 < units.count {
            let (next, nextName) = units[first + 1]
            let rest = (total % size) / next
            if rest > 0 { text += " \(rest)\(nextName)" }
        }
        return text
    }
}
