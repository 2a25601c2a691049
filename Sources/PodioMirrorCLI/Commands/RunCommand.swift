import ArgumentParser
import Foundation
import Logging
import NIOCore
import PodioAPI
import PodioMirror
import ServiceLifecycle

struct RunCommand: AsyncParsableCommand, SettingOverrides {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Long-running scheduler for containers: a delta sync every D, graceful stop on SIGTERM/SIGINT.",
        discussion: """
            Several `run` processes may share one database: each takes the next app in need that no \
            other holds. With --listen, serves /livez, /readyz, /healthz and /metrics (Prometheus) over HTTP, \
            and the webhook receiver (`hooks install`); queued webhook events are applied as they arrive.

            """ + SettingCatalog.help(for: SettingCatalog.Command.run))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var podio: PodioOptions
    @OptionGroup var engine: EngineOptions

    @Option(name: .long, help: "Time between delta syncs: 90s, 15m, 1h (PODIO_RUN_EVERY; required).")
    var every: String?

    @Option(name: .long, help: "Also run a full resync at this cadence, e.g. 24h (PODIO_RESYNC_EVERY; default never).")
    var resyncEvery: String?

    @Option(name: .long, help: "The longest wait for quota inside one run (PODIO_MAX_WAIT; default: the interval).")
    var maxWait: String?

    @Option(name: .customLong("app"), help: "An app id to sync (repeat for several; overrides PODIO_APPS).")
    var apps: [Int] = []

    @Option(
        name: .long,
        help:
            "Serve /livez, /readyz, /healthz and /metrics at HOST:PORT (a bare port listens on 127.0.0.1, a bare host on port 9464; PODIO_LISTEN); default off."
    )
    var listen: String?

    @Option(
        name: .long,
        help:
            "How often an app with active hooks gets a delta (its reconciliation; default 1h, PODIO_RECONCILE_EVERY); shorter than --every is honoured."
    )
    var reconcileEvery: String?

    var overrides: [(variable: String, value: String?)] {
        [
            ("PODIO_APPS", apps.isEmpty ? nil : apps.map(String.init).joined(separator: ",")),
            ("PODIO_RECONCILE_EVERY", reconcileEvery),
        ]
    }

    func validate() throws {
        if let reconcileEvery, (DurationParser.seconds(reconcileEvery) ?? 0) <= 0 {
            throw ValidationError("--reconcile-every must be a duration such as 1h")
        }
        if let every, (DurationParser.seconds(every) ?? 0) < 1 {
            throw ValidationError("--every must be a duration such as 15m")
        }
        if let resyncEvery, DurationParser.seconds(resyncEvery) == nil {
            throw ValidationError("--resync-every must be a duration such as 24h")
        }
        if let maxWait, DurationParser.seconds(maxWait) == nil {
            throw ValidationError("--max-wait must be a duration such as 10m")
        }
        if let listen, ListenAddress(listen) == nil {
            throw ValidationError(
                "--listen must be HOST:PORT, :PORT, PORT or HOST (e.g. 127.0.0.1:9464 or 0.0.0.0:9464)")
        }
    }

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.run", defaultLevel: .info)
            let settings = try global.settings(podio, engine, self)
            _ = try settings.requireAPIKey()
            // The schedule: each option, else its variable (checked here: the parser saw only options).
            func duration(_ variable: String, _ option: String?, minimum: Double = 0) throws -> Double? {
                guard let text = try global.value(variable, option: option) else { return nil }
                guard let seconds = DurationParser.seconds(text), seconds >= minimum, seconds > 0 else {
                    throw MirrorError(.usage, "\(variable) is not a duration", fix: "use 90s, 15m, 1h or plain seconds")
                }
                return seconds
            }
            guard let interval = try duration("PODIO_RUN_EVERY", every, minimum: 1) else {
                throw MirrorError(
                    .usage, "run needs its interval", fix: "give --every 15m, or set PODIO_RUN_EVERY=15m")
            }
            let resyncInterval = try duration("PODIO_RESYNC_EVERY", resyncEvery)
            let maxWaitSeconds = try duration("PODIO_MAX_WAIT", maxWait)
            let listenText = try global.value("PODIO_LISTEN", option: listen)
            if let listenText, ListenAddress(listenText) == nil {
                throw MirrorError(
                    .usage, "PODIO_LISTEN is not HOST:PORT, :PORT, PORT or HOST",
                    fix: "for example 127.0.0.1:9464, or 0.0.0.0:9464 in a container")
            }
            let wake = HookSignal()
            var metrics = MirrorMetrics()
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            let health = RunHealth()
            let address = listenText.flatMap(ListenAddress.init)
            // One pool for the short questions of the listener, the receiver, the event worker
            // and the worker record (`Mirror.listenerConnections`: /metrics never delays an event).
            let mirror = CommandEnvironment.listenerMirror(settings, logger: logger)
            if let address {
                let (registry, factory) = MonitoringServer.makeMetrics()
                metrics = MirrorMetrics(factory: factory)
                let receiver = HookReceiver(mirror: mirror, metrics: metrics, wake: wake, logger: logger)
                // First in the group, so it is stopped last: /healthz answers while the run in
                // progress finishes its page.
                services.append(
                    .init(
                        service: MonitoringServer.application(
                            address: address, mirror: mirror, runs: health, registry: registry, metrics: metrics,
                            settings: settings, receiver: receiver, logger: logger)))
            }
            let scheduler = SchedulerService(
                settings: settings, interval: interval, resyncInterval: resyncInterval,
                maxWait: maxWaitSeconds ?? interval, apps: apps.isEmpty ? nil : apps,
                metrics: metrics, health: health, listen: address?.description, mirror: mirror, logger: logger)
            services.append(.init(service: scheduler))
            services.append(
                .init(
                    service: HookEventService(
                        settings: settings, mirror: mirror, wake: wake, metrics: metrics, logger: logger)))
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do {
                try await group.run()
            } catch let error where address != nil && (error is IOError || error is SocketAddressError) {
                let reason =
                    (error as? IOError).map { String(cString: strerror($0.errnoCode)).lowercased() } ?? "\(error)"
                throw MirrorError(
                    .usage, "could not listen on \(address?.description ?? "--listen"): \(reason)",
                    fix: "choose a free port or another address for --listen")
            }
            logger.info("scheduler stopped")
        }
    }
}

/// Runs a sync every interval (a resync at its own cadence). Each run takes the next app in
/// need that no other run holds, one at a time, so several schedulers (and cron jobs) share one
/// database and its quota. A reconciliation interval shorter than the interval is honoured: the
/// scheduler also wakes when the earliest app with active hooks is due, and that run covers
/// only those apps. On SIGTERM/SIGINT the run in progress stops after the page in flight
/// is committed. The clock is injectable: a test clock runs hours of schedule without sleeping.
struct SchedulerService: Service {
    let settings: MirrorSettings
    let interval: Double
    let resyncInterval: Double?
    let maxWait: Double
    let apps: [Int]?
    var clock: any WallClock = SystemClock()
    var metrics = MirrorMetrics()
    var health = RunHealth()
    /// The listener's address, recorded with the worker (`podio.workers`).
    var listen: String?
    var transport: (any HTTPTransport)?
    /// The database's answers for the worker record and the reconciliations due (its own when nil).
    var mirror: Mirror?
    let logger: Logger

    init(
        settings: MirrorSettings, interval: Double, resyncInterval: Double?, maxWait: Double, apps: [Int]?,
        clock: any WallClock = SystemClock(), metrics: MirrorMetrics = MirrorMetrics(),
        health: RunHealth = RunHealth(),
        listen: String? = nil, transport: (any HTTPTransport)? = nil, mirror: Mirror? = nil, logger: Logger
    ) {
        self.settings = settings
        self.interval = interval
        self.resyncInterval = resyncInterval
        self.maxWait = maxWait
        self.apps = apps
        self.clock = clock
        self.metrics = metrics
        self.health = health
        self.listen = listen
        self.transport = transport
        self.mirror = mirror
        self.logger = logger
    }

    func run() async throws {
        let transport = self.transport ?? CommandEnvironment.transport(settings)
        let mirror = self.mirror ?? Mirror.listener(settings: settings, logger: logger)
        var nextResync = resyncInterval.map { clock.now().addingTimeInterval($0) }
        var nextRegular = clock.now()
        let reconcileSooner = settings.reconcileInterval < interval
        let probe = reconcileSooner ? mirror : nil
        let worker = WorkerRecord(mirror: mirror, logger: logger)
        await worker.register(every: interval, resyncEvery: resyncInterval, listen: listen)
        logger.info("scheduler started", metadata: ["every": "\(DurationParser.describe(interval))"])
        // Cancelled (the listener failed, say) or asked to stop: no further run.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = clock.now()
            var kind = SyncOptions.Kind.sync
            var runApps = apps
            if started >= nextRegular {
                nextRegular = started.addingTimeInterval(interval)
                if let due = nextResync, due <= started {
                    kind = .resync
                    nextResync = resyncInterval.map { started.addingTimeInterval($0) }
                }
            } else {
                // Woken for the reconciliation of apps with active hooks: only those that are due.
                let due = await reconciliationsDue(probe)
                runApps = due.filter { $0.value <= started }.keys.sorted()
            }
            if runApps?.isEmpty == true {
                let next = await nextWake(after: started, regular: nextRegular, probe)
                try? await cancelWhenGracefulShutdown { try await clock.sleep(until: next) }
                continue
            }
            await worker.seen(every: interval, resyncEvery: resyncInterval, listen: listen)
            var options = SyncOptions(kind: kind, apps: runApps, maxWait: maxWait, claiming: .oneAtATime)
            options.reconcileInterval = settings.reconcileInterval
            options.every = interval
            options.stopRequested = { Task.isShuttingDownGracefully }
            let coordinator = SyncCoordinator(
                settings: settings, transport: transport, clock: clock, metrics: metrics, logger: logger)
            do {
                let summary = try await coordinator.run(options)
                logger.info("\(summary.line)")
                health.record(outcome: RunHealth.Outcome(summary.status), message: summary.line, at: clock.now())
            } catch {
                let (code, message) = CommandRunner.describe(error)
                if code == 75 { logger.notice("\(message)") } else { logger.error("\(message)") }
                health.record(
                    outcome: error is AllAppsHeld ? .busy : code == 75 ? .deferred : .failed, message: message,
                    at: clock.now(), credentialsRefused: MirrorError(classifying: error).category == .credentialsRefused
                )
            }
            let next = await nextWake(after: started, regular: nextRegular, probe)
            try? await cancelWhenGracefulShutdown { try await clock.sleep(until: next) }
        }
        await worker.stopped()
        if self.mirror == nil { await mirror.close() }
    }
}

extension SchedulerService {
    /// The apps with active hooks (among `apps`) and when each one's reconciliation is due;
    /// empty without a shorter reconciliation interval or when the database does not answer.
    func reconciliationsDue(_ probe: Mirror?) async -> [Int: Date] {
        guard let probe else { return [:] }
        do {
            return try await probe.reconciliationsDue(interval: settings.reconcileInterval, apps: apps ?? settings.apps)
        } catch {
            logger.debug(
                "the reconciliations due were not read",
                metadata: ["error": "\(MirrorError(classifying: error).message)"])
            return [:]
        }
    }

    /// The next regular run, or sooner the earliest reconciliation due (never sooner than a
    /// reconciliation interval after the run that just started, so an app that could not be
    /// reconciled is not tried in a loop).
    func nextWake(after started: Date, regular: Date, _ probe: Mirror?) async -> Date {
        guard let earliest = await reconciliationsDue(probe).values.min() else { return regular }
        return min(regular, max(earliest, started.addingTimeInterval(settings.reconcileInterval)))
    }
}

/// The worker's row in `podio.workers` (its schedule and heartbeat); a database that is away
/// only costs the heartbeat, never the schedule.
actor WorkerRecord {
    let mirror: Mirror
    let logger: Logger
    private var workerID: Int64?

    init(mirror: Mirror, logger: Logger) {
        self.mirror = mirror
        self.logger = logger
    }

    func register(every: Double, resyncEvery: Double?, listen: String?) async {
        do {
            workerID = try await mirror.registerWorker(every: every, resyncEvery: resyncEvery, listen: listen)
        } catch {
            logger.debug(
                "the worker could not be recorded", metadata: ["error": "\(MirrorError(classifying: error).message)"])
        }
    }

    func seen(every: Double, resyncEvery: Double?, listen: String?) async {
        guard let workerID else {
            await register(every: every, resyncEvery: resyncEvery, listen: listen)
            return
        }
        do {
            try await mirror.workerSeen(workerID)
        } catch {
            logger.debug(
                "the worker's heartbeat was not recorded",
                metadata: ["error": "\(MirrorError(classifying: error).message)"])
        }
    }

    func stopped() async {
        if let workerID { try? await mirror.workerStopped(workerID) }
    }
}
