import Foundation
import LibPQ
import Logging
import PodioAPI
import PodioMirror
import ServiceLifecycle

/// The event worker of `run`: drains `podio.hook_events` whenever the receiver queued an event
/// (and every few seconds, for events another process received), and reconciles the hooks with
/// Podio (inactive ones verified again, missing ones created) every reconciliation interval.
/// Draining is one process at a time (an advisory lock); a failure leaves events queued.
struct HookEventService: Service {
    let settings: MirrorSettings
    let wake: HookSignal
    var pollInterval: Double = 5
    /// How soon hooks that wait for their verification are checked with Podio again.
    static let pendingCheckInterval: Double = 60
    var clock: any LedgerClock = SystemClock()
    var metrics = MirrorMetrics()
    var transport: (any HTTPTransport)?
    let logger: Logger

    func run() async throws {
        let ownTransport = transport == nil ? AsyncHTTPClientTransport(readTimeout: settings.requestTimeout) : nil
        let transport: any HTTPTransport = self.transport ?? ownTransport!
        let coordinator = SyncCoordinator(
            settings: settings, transport: transport, clock: clock, metrics: metrics, logger: logger)
        let manager = HookManager(
            settings: settings, transport: transport, clock: clock, metrics: metrics, logger: logger)
        // One connection asks whether anything is queued; the worker connects only when it is.
        let probe = DatabaseProbe(url: settings.databaseURL, logger: logger)
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int64(pollInterval * 1000)))
                wake.notify()
            }
        }
        await cancelWhenGracefulShutdown {
            var nextCheck = clock.now()
            for await _ in wake.stream {
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                do {
                    let pending = try await probe.run { try MirrorStore(db: $0).pendingHookEventCount() }
                    if pending > 0 { _ = try await coordinator.drainHookEvents() }
                } catch {
                    logger.warning("hook events were not drained: \(MirrorError(classifying: error).message)")
                }
                if clock.now() >= nextCheck {
                    nextCheck = clock.now().addingTimeInterval(settings.reconcileInterval)
                    do {
                        let recorded = try await probe.run { try MirrorStore(db: $0).hookApps().count }
                        let lines = recorded == 0 ? [] : try await manager.check()
                        // Hooks still waiting for their verification are checked again soon.
                        // (No line for recorded hooks: an install held them; soon again too.)
                        if lines.contains(where: { $0.mirrorStatus != "verified" }) || (recorded > 0 && lines.isEmpty) {
                            nextCheck = min(nextCheck, clock.now().addingTimeInterval(Self.pendingCheckInterval))
                        }
                        for line in lines where line.action != nil && line.action != "kept" {
                            logger.notice(
                                "hook \(line.hookID.map(String.init) ?? "?") (\(line.type)) of app \(line.appID): \(line.action ?? "")"
                            )
                        }
                    } catch {
                        logger.warning(
                            "the hooks were not checked with Podio: \(MirrorError(classifying: error).message)")
                    }
                }
            }
        }
        ticker.cancel()
        await probe.close()
        try? await ownTransport?.shutdown()
    }
}
