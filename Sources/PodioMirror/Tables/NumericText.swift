/// A decimal number as PostgreSQL's `numeric` holds it: its digits and display scale, and the
/// text `numeric_out` prints (never an exponent; the scale of `1.50e1` is 1: `15.0`; `-0` is `0`).
///
/// Read from a JSON number literal (what `jsonb` stores) or from the text `podio.to_numeric`
/// accepts. `ValueTyper` uses it for every number a column reads, so Swift and the SQL functions
/// give the same values.
struct NumericText: Sendable, Equatable {
    var negative: Bool
    /// The integer part without leading zeros ("0" when there is none).
    var integer: String
    /// The digits after the point: exactly `scale` of them.
    var fraction: String

    var isZero: Bool { integer == "0" && fraction.allSatisfy { $0 == "0" } }

    /// `numeric_out`.
    var text: String {
        (negative && !isZero ? "-" : "") + integer + (fraction.isEmpty ? "" : "." + fraction)
    }

    /// The largest exponent `numeric` reads (`NUMERIC_MAX_PRECISION`); `jsonb` rejects a larger one.
    static let maxExponent = 1_000

    /// A number by JSON's grammar, or nil.
    init?(literal: String) {
        let bytes = Array(literal.utf8)
        var i = 0
        var negative = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        let intStart = i
        while i < bytes.count, Self.isDigit(bytes[i]) { i += 1 }
        let intDigits = bytes[intStart..<i]
        guard !intDigits.isEmpty else { return nil }
        var fracDigits: ArraySlice<UInt8> = []
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < bytes.count, Self.isDigit(bytes[i]) { i += 1 }
            fracDigits = bytes[start..<i]
            guard !fracDigits.isEmpty else { return nil }
        }
        var exponent = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            var expNegative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            let start = i
            while i < bytes.count, Self.isDigit(bytes[i]) {
                guard exponent <= Self.maxExponent * 10 else { return nil }
                exponent = exponent * 10 + Int(bytes[i] - 48)
                i += 1
            }
            guard i > start else { return nil }
            if expNegative { exponent = -exponent }
        }
        guard i == bytes.count, abs(exponent) <= Self.maxExponent else { return nil }
        self.init(negative: negative, intDigits: intDigits, fracDigits: fracDigits, exponent: exponent)
    }

    /// The text `podio.to_numeric` accepts (`^\s*[-+]?[0-9]{1,100}(\.[0-9]{1,100})?\s*$`, `\s`
    /// the ASCII spaces), or nil: what it returns NULL for.
    init?(decimalText text: String) {
        let bytes = Array(text.utf8)
        var start = 0
        var end = bytes.count
        while start < end, Self.isSpace(bytes[start]) { start += 1 }
        while end > start, Self.isSpace(bytes[end - 1]) { end -= 1 }
        var i = start
        var negative = false
        if i < end, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        let intStart = i
        while i < end, Self.isDigit(bytes[i]) { i += 1 }
        let intDigits = bytes[intStart..<i]
        guard (1...100).contains(intDigits.count) else { return nil }
        var fracDigits: ArraySlice<UInt8> = []
        if i < end, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < end, Self.isDigit(bytes[i]) { i += 1 }
            fracDigits = bytes[fracStart..<i]
            guard (1...100).contains(fracDigits.count) else { return nil }
        }
        guard i == end else { return nil }
        self.init(negative: negative, intDigits: intDigits, fracDigits: fracDigits, exponent: 0)
    }

    private init(negative: Bool, intDigits: ArraySlice<UInt8>, fracDigits: ArraySlice<UInt8>, exponent: Int) {
        let all = Array(intDigits) + Array(fracDigits)
        let point = intDigits.count + exponent
        let scale = max(0, fracDigits.count - exponent)
        var integerDigits: [UInt8]
        var fractionDigits: [UInt8]
        if point <= 0 {
            integerDigits = []
            fractionDigits = [UInt8](repeating: 48, count: -point) + all
        } else if point >= all.count {
            integerDigits = all + [UInt8](repeating: 48, count: point - all.count)
            fractionDigits = []
        } else {
            integerDigits = Array(all[..<point])
            fractionDigits = Array(all[point...])
        }
        if fractionDigits.count < scale {
            fractionDigits += [UInt8](repeating: 48, count: scale - fractionDigits.count)
        } else if fractionDigits.count > scale {
            fractionDigits.removeLast(fractionDigits.count - scale)
        }
        let firstNonZero = integerDigits.firstIndex { $0 != 48 } ?? integerDigits.count
        integerDigits.removeFirst(firstNonZero)
        self.negative = negative
        self.integer = integerDigits.isEmpty ? "0" : String(decoding: integerDigits, as: UTF8.self)
        self.fraction = String(decoding: fractionDigits, as: UTF8.self)
    }

    /// What `podio.to_numeric` accepts of this number's own text (`numeric_out`): at most 100
    /// digits on each side of the point.
    var fitsToNumeric: Bool { integer.utf8.count <= 100 && fraction.utf8.count <= 100 }

    /// `CASE WHEN n BETWEEN -2147483648 AND 2147483647 THEN round(n)::integer END`.
    var roundedInt32: Int32? {
        guard integer.utf8.count <= 10, let whole = Int64(integer) else { return nil }
        let hasFraction = fraction.contains { $0 != "0" }
        let limit: Int64 = negative ? 2_147_483_648 : 2_147_483_647
        guard whole < limit || (whole == limit && !hasFraction) else { return nil }
        let up = fraction.first.map { $0 >= "5" } ?? false  // round half away from zero
        let magnitude = whole + (up ? 1 : 0)
        return Int32(exactly: negative ? -magnitude : magnitude)
    }

    /// `abs(n) < 1e15`.
    var belowE15: Bool { integer.utf8.count <= 15 }

    /// `podio.to_bigint`: `^-?[0-9]{1,18}$`, else nil.
    static func bigint(_ text: String?) -> Int64? {
        guard let text else { return nil }
        let bytes = Array(text.utf8)
        let digits = bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]
        guard (1...18).contains(digits.count), digits.allSatisfy(isDigit) else { return nil }
        return Int64(text)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    /// `[[:space:]]` of PostgreSQL's regular expressions in the C locale, and `isspace`.
    static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || (byte >= 9 && byte <= 13) }
}
