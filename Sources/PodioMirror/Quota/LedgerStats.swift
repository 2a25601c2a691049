import Foundation
import PodioAPI

/// Counters of one ledger instance (one run).
public actor LedgerStats {
    public struct Snapshot: Sendable, Codable {
        public var rateLimited = 0
        public var general = 0
        public var secondsWaited = 0.0
        public var rateLimitErrors = 0
    }

    private var current = Snapshot()

    func count(_ tier: QuotaTier) {
        if tier == .rateLimited { current.rateLimited += 1 } else { current.general += 1 }
    }

    func waited(_ seconds: Double) { current.secondsWaited += seconds }

    func rateLimited() { current.rateLimitErrors += 1 }

    func snapshot() -> Snapshot { current }
}
