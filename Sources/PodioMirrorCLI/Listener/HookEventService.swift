import Foundation
import Logging
import PodioAPI
import PodioMirror
import ServiceLifecycle

/// The event worker of `run`: drains `podio.hook_events` whenever the receiver queued an event
/// (and every few seconds, for events another process received), and reconciles the hooks with
/// Podio (inactive ones verified again, missing ones created) every reconciliation interval.
/// Hooks waiting for their verification are checked again when their back-off ends (recorded in
/// `podio.hooks`, shared with `hooks install`); while the receiver does not answer its
/// self-check, Podio is asked nothing for them and the self-check itself backs off.
/// Draining is one process at a time (an advisory lock); a failure leaves events queued.
struct HookEventService: Service {
    let settings: MirrorSettings
    /// The database's answers to the worker's questions (shared with the listener).
    let mirror: Mirror
    let wake: HookSignal
    var pollInterval: Double = 5
    /// How soon hooks that wait for their verification are checked again when nothing else
    /// says (an install held the registrations): the back-off's first step.
    static let pendingCheckInterval: Double = 60
    /// The first wait before the receiver's self-check is tried again (it costs no call to
    /// Podio; doubles up to an hour). The listener may not be up at the worker's first check.
    static let selfCheckRetry: Double = 5
    var clock: any WallClock = SystemClock()
    var metrics = MirrorMetrics()
    var transport: (any HTTPTransport)?
    let logger: Logger

    func run() async throws {
        let transport = self.transport ?? CommandEnvironment.transport(settings)
        let coordinator = SyncCoordinator(
            settings: settings, transport: transport, clock: clock, metrics: metrics, logger: logger)
        let manager = HookManager(
            settings: settings, transport: transport, clock: clock, metrics: metrics, logger: logger)
        // The mirror asks whether anything is queued; the worker connects only when it is.
        let (clock, pollInterval) = (self.clock, self.pollInterval)
        let ticker = Task {
            while !Task.isCancelled {
                try? await clock.sleep(until: clock.now().addingTimeInterval(pollInterval))
                wake.notify()
            }
        }
        await cancelWhenGracefulShutdown {
            var nextCheck = clock.now()
            var nextPending: Date?
            var receiverRetry = Self.selfCheckRetry
            for await _ in wake.stream {
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                do {
                    let pending = try await mirror.pendingHookEventCount()
                    if pending > 0 { _ = try await coordinator.drainHookEvents() }
                } catch {
                    logger.warning("hook events were not drained: \(MirrorError(classifying: error).message)")
                }
                let now = clock.now()
                let full = now >= nextCheck
                if !full && nextPending == nil {
                    // An install (another process) may have left hooks waiting for their
                    // verification: their back-off is in the database.
                    if let pending = try? await mirror.pendingVerifications(),
                        pending.count > 0
                    {
                        nextPending = pending.due ?? now
                    }
                }
                guard full || nextPending.map({ now >= $0 }) == true else { continue }
                if full { nextCheck = now.addingTimeInterval(settings.reconcileInterval) }
                do {
                    let recorded = try await mirror.hookApps().count
                    let result = recorded == 0 ? HookCheck() : try await manager.check(onlyDue: !full)
                    for line in result.lines
                    where [.created, .verificationRequested, .removed].contains(line.action) {
                        logger.notice(
                            "hook \(line.hookID.map(String.init) ?? "?") (\(line.type)) of app \(line.appID): \(line.action?.rawValue ?? "")"
                        )
                    }
                    let pending = try await mirror.pendingVerifications()
                    if pending.count == 0 {
                        nextPending = nil
                        receiverRetry = Self.selfCheckRetry
                    } else if result.receiverAnswered == false {
                        // The receiver cannot hear Podio: the self-check is tried again later,
                        // backing off like the requests would.
                        nextPending = now.addingTimeInterval(receiverRetry)
                        receiverRetry = min(3600, receiverRetry * 2)
                    } else {
                        receiverRetry = Self.selfCheckRetry
                        // Never sooner than the back-off's first step (a hook whose app could not
                        // be checked keeps a past due time).
                        nextPending = max(pending.due ?? now, now.addingTimeInterval(Self.pendingCheckInterval))
                    }
                } catch {
                    nextPending = now.addingTimeInterval(Self.pendingCheckInterval)
                    logger.warning("the hooks were not checked with Podio: \(MirrorError(classifying: error).message)")
                }
            }
        }
        ticker.cancel()
    }
}
