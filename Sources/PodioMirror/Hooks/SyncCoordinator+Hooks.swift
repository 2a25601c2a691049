import LibPQ

extension SyncCoordinator {
    /// Applies the queued webhook events (the event worker of `run`): nothing when the queue is
    /// empty (one query, no call to Podio) or another process is draining it.
    public func drainHookEvents(maxWait: Double = 60) async throws -> HookDrainSummary {
        let pending = try await PGConnection.connect(
            settings.databaseURL, applicationName: "podio-mirror hooks", logger: logger)
        let count = try await pending.run { try MirrorStore(db: $0).hooks.pendingHookEventCount() }
        pending.close()
        guard count > 0 else { return HookDrainSummary() }
        let session = try await EngineSession.open(
            settings: settings, transport: transport, clock: clock, metrics: metrics, maxWait: maxWait,
            applicationName: "podio-mirror hooks", logger: logger)
        defer { session.close() }
        let worker = session.eventWorker(
            settings: settings, clock: clock, metrics: metrics, maxWait: maxWait, logger: logger)
        return await worker.drainHookEvents()
    }
}
