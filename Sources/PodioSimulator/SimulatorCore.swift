import NIOCore
import Synchronization

/// The request handler shared by the HTTP server and the in-process control API:
/// all state sits behind one `Mutex`, and every request is handled synchronously under it.
final class SimulatorCore: Sendable {
    let state: Mutex<SimulatorState>
    let config: PodioSimulator.Configuration
    private let clockStart = ContinuousClock.now
    let group: any EventLoopGroup
    let dispatcher: HookDispatcher
    /// Seconds added to the monotonic clock by `advanceClock` (tests skip waits with it).
    private let clockAdvance = Mutex<Double>(0)

    /// The `X-Rate-Limit-Limit` advertised by an unlimited tier (limit 0).
    static let unlimitedAdvertised = 1_000_000_000

    init(config: PodioSimulator.Configuration, group: any EventLoopGroup) throws(PodioSimulator.ControlError) {
        self.config = config
        self.group = group
        state = Mutex(try SimulatorState(config: config))
        dispatcher = HookDispatcher(group: group, timeoutSeconds: config.hookTimeout)
    }

    /// Monotonic seconds since start (rate windows and token lifetimes), plus any advance; only
    /// the advance with a manual clock.
    func monotonicNow() -> Double {
        let advance = clockAdvance.withLock { $0 }
        if config.manualClock { return advance }
        let elapsed = ContinuousClock.now - clockStart
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 + advance
    }

    /// Moves the monotonic clock forward, as if `seconds` had passed.
    func advanceClock(seconds: Double) {
        clockAdvance.withLock { $0 += max(0, seconds) }
    }

    func setBaseURL(_ url: String) {
        state.withLock { $0.baseURL = url }
    }

    /// Answers one request.
    func handle(_ request: SimRequest) -> SimResponse {
        var response = answer(request)
        let sent = dispatchHooks()
        if response.holdForVerify {
            // The verify mode: the answer waits until the new hook's verify POST was answered.
            let verifies = sent.filter(\.isVerify).map(\.result)
            if !verifies.isEmpty {
                response.holdUntil = EventLoopFuture.andAllComplete(verifies, on: group.next())
            }
        }
        return response
    }

    private func answer(_ request: SimRequest) -> SimResponse {
        let now = monotonicNow()
        let wallNow = PodioTime.now()
        return state.withLock { state -> SimResponse in
            if request.path == "/_sim" || request.path.hasPrefix("/_sim/") {
                return handleControl(&state, request, now: wallNow)
            }
            var response: SimResponse
            if request.path.hasPrefix("/oauth/") {
                response = handleOAuth(&state, request, now: now)
            } else {
                response = handleAPI(&state, request, now: now)
            }
            if response.status >= 400 { state.stats.errorsServed += 1 }
            if response.status == 420 { state.stats.rateLimitErrors += 1 }
            let isLoadBalancerPage = response.headers.contains(where: {
                $0.name == "Content-Type" && $0.value == "text/html"
            })
            if !isLoadBalancerPage {
                response.addHeader("X-Podio-Request-Id", state.tokens.requestID())
            }
            return response
        }
    }

    func errorResponse(_ failure: APIError, _ request: SimRequest, _ state: SimulatorState) -> SimResponse {
        SimResponse.error(failure, request: request, baseURL: state.baseURL)
    }

    /// Podio's 420 body with the real wait time.
    func rateLimitResponse(wait: Int, _ request: SimRequest, _ state: SimulatorState) -> SimResponse {
        errorResponse(
            APIError(
                status: 420, error: "rate_limit",
                description: "You have hit the rate limit. Please wait \(wait) seconds before trying again"),
            request, state)
    }

    func limit(ofTier tier: String) -> Int {
        tier == APIRoute.rateLimitedTier ? config.rateLimit : config.rateLimitGeneral
    }
}
