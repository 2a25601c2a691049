import Foundation
import PodioAPI
import Synchronization

/// The gate of `podio-mirror check`'s calls: it never lets more calls through than were
/// announced, records each answer's rate-limit headers (the tiers and what the quota has left),
/// and passes every call on to `inner`: the quota ledger when the database holds a current
/// schema (so concurrent runs count the calls), else a gate that lets calls through, and then
/// this gate itself refuses a call of a tier whose last answer said little is left.
final class CheckGate: CallGate {
    /// The answer to one call, as the gate saw it.
    struct Answer: Sendable {
        var endpoint: PodioEndpoint
        var identity: String
        var status: Int?
        var headers: RateLimitHeaders
    }

    /// Refused before the call was made (the budget is spent, or Podio said little is left).
    struct Refusal: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    private let inner: any CallGate
    private let policy: QuotaPolicy
    /// Whether this gate guards the quota from the headers itself (no ledger behind it).
    private let guardsQuota: Bool
    private let state: Mutex<State>

    private struct State {
        var budget: Int
        var spent = 0
        var answers: [Answer] = []
    }

    init(inner: any CallGate, policy: QuotaPolicy, budget: Int, guardsQuota: Bool) {
        self.inner = inner
        self.policy = policy
        self.guardsQuota = guardsQuota
        self.state = Mutex(State(budget: budget))
    }

    /// Calls made so far.
    var spent: Int { state.withLock { $0.spent } }

    /// Calls still allowed.
    var left: Int { state.withLock { $0.budget - $0.spent } }

    /// Every answer so far, in order.
    var answers: [Answer] { state.withLock { $0.answers } }

    /// Raises the budget by `calls` (a further phase that was announced before it starts).
    func allow(_ calls: Int) {
        state.withLock { $0.budget += calls }
    }

    /// The least a tier must have left, by its last answer, for this gate to make a call of it
    /// without a ledger: a twentieth of the limit, at least 5.
    static func floor(limit: Int) -> Int { max(5, limit / 20) }

    /// The tier a limit names, or the endpoint's assumed one.
    func tier(of endpoint: PodioEndpoint, limit: Int?) -> QuotaTier {
        limit.flatMap { policy.tier(forLimit: $0) } ?? endpoint.defaultTier
    }

    func acquire(_ endpoint: PodioEndpoint, identity: String) async throws -> CallPermit {
        try state.withLock { state in
            guard state.spent < state.budget else {
                throw Refusal(description: "the check's announced \(state.budget) calls are spent")
            }
            if guardsQuota {
                let learned = state.answers.last { $0.endpoint == endpoint && $0.headers.limit != nil }
                let tier = self.tier(of: endpoint, limit: learned?.headers.limit)
                let last = state.answers.last {
                    $0.identity == identity && self.tier(of: $0.endpoint, limit: $0.headers.limit) == tier
                        && $0.headers.remaining != nil
                }
                if let limit = last?.headers.limit, let remaining = last?.headers.remaining,
                    remaining < Self.floor(limit: limit)
                {
                    throw Refusal(
                        description:
                            "Podio said only \(remaining) \(tier.rawValue) calls are left this hour; the check spends none of them"
                    )
                }
            }
            state.spent += 1
        }
        do {
            return try await inner.acquire(endpoint, identity: identity)
        } catch {
            state.withLock { $0.spent -= 1 }
            throw error
        }
    }

    func complete(_ permit: CallPermit, status: Int?, headers: RateLimitHeaders, retryAfterSeconds: Int?) async {
        state.withLock {
            $0.answers.append(
                Answer(endpoint: permit.endpoint, identity: permit.identity, status: status, headers: headers))
        }
        await inner.complete(permit, status: status, headers: headers, retryAfterSeconds: retryAfterSeconds)
    }
}
