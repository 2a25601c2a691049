/// The seeded pseudo-random generator behind all simulated data (SplitMix64).
/// Same seed, same sequence, on every platform.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    /// A generator for one purpose, derived from a seed and a few discriminators.
    init(seed: UInt64, _ parts: UInt64...) {
        var mixed = seed
        for part in parts {
            mixed = SplitMix64.mix(mixed ^ (part &* 0x9E37_79B9_7F4A_7C15))
        }
        state = mixed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `range` (bias is irrelevant for test data).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        let width = UInt64(range.upperBound - range.lowerBound) + 1
        return range.lowerBound + Int(next() % width)
    }

    /// True with probability `probability`.
    mutating func chance(_ probability: Double) -> Bool {
        Double(next() >> 11) / Double(1 << 53) < probability
    }

    mutating func pick<T>(_ choices: [T]) -> T {
        choices[int(0...(choices.count - 1))]
    }

    /// An opaque lowercase hex string of `length` characters.
    mutating func hex(_ length: Int) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(length)
        for _ in 0..<length {
            text.append(digits[Int(next() & 0xF)])
        }
        return text
    }

    /// An opaque alphanumeric string (like Podio's request ids).
    mutating func alphanumeric(_ length: Int) -> String {
        let characters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var text = ""
        for _ in 0..<length {
            text.append(characters[Int(next() % UInt64(characters.count))])
        }
        return text
    }
}
