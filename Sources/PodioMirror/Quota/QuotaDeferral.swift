import Foundation
import PodioAPI

/// An error that means "not now": the run stops after its last committed page, is recorded as
/// deferred until `freesAt`, and exits with the deferred code.
public protocol RunDeferral: Error, Sendable, CustomStringConvertible {
    var freesAt: Date { get }
}

/// The quota cannot allow the next call before the run's deadline.
public struct QuotaDeferral: RunDeferral {
    public var tier: QuotaTier
    public var freesAt: Date
    public var reason: String

    public var description: String {
        "the \(tier.rawValue) quota allows the next call at \(PodioTime.format(freesAt)) UTC (\(reason))"
    }
}
