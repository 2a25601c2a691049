extension PodioSimulator {
    /// How the simulator mangles webhook deliveries (never the `hook.verify` event): Podio
    /// promises nothing about delivery, so a client must survive each of these. All off by
    /// default. Decisions come from `seed`, in the order the changes are made, so the same
    /// changes with the same faults meet the same fate.
    public struct HookFaults: Sendable, Equatable {
        /// Fraction of deliveries never sent (counted as `dropped`).
        public var dropRate: Double
        /// Fraction of deliveries sent twice (the extra copies are counted as `duplicated`).
        public var duplicateRate: Double
        /// Each delivery waits a seeded time in this range (milliseconds) before it is sent.
        public var delayMilliseconds: ClosedRange<Int>
        /// Deliveries are held until this many are waiting (or `reorderHoldMilliseconds` passed),
        /// then sent in a seeded random order. 0 or 1 = in order.
        public var reorderWindow: Int
        /// The longest a delivery waits for its reorder window to fill.
        public var reorderHoldMilliseconds: Int
        public var seed: UInt64
        /// The `hook.verify` POST of a new hook is delivered (and answered) before the answer of
        /// `POST /hook/app/{id}/` is written: the client learns the code before the hook id.
        public var verifyBeforeCreateAnswer: Bool

        public init(
            dropRate: Double = 0, duplicateRate: Double = 0, delayMilliseconds: ClosedRange<Int> = 0...0,
            reorderWindow: Int = 0, reorderHoldMilliseconds: Int = 200, seed: UInt64 = 1,
            verifyBeforeCreateAnswer: Bool = false
        ) {
            self.dropRate = dropRate
            self.duplicateRate = duplicateRate
            self.delayMilliseconds = delayMilliseconds
            self.reorderWindow = reorderWindow
            self.reorderHoldMilliseconds = reorderHoldMilliseconds
            self.seed = seed
            self.verifyBeforeCreateAnswer = verifyBeforeCreateAnswer
        }
    }
}
