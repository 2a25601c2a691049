import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import PodioAPI
import PodioMirror
import Prometheus
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where `run --listen` serves: `HOST:PORT`, `[IPV6]:PORT`, `:PORT` or `PORT` (on 127.0.0.1), or a
/// bare `HOST` (port 9464, Prometheus's registered port for exporters of this kind).
struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    static let defaultPort = 9464
    var host: String
    var port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init?(_ text: String) {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        func port(_ p: Substring) -> Int? { Int(p).flatMap { (0...65_535).contains($0) ? $0 : nil } }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            guard host.contains(":") else { return nil }  // brackets hold an IPv6 address
            let rest = text[text.index(after: close)...]
            if rest.isEmpty {
                self.port = Self.defaultPort
            } else {
                guard rest.hasPrefix(":"), let p = port(rest.dropFirst()) else { return nil }
                self.port = p
            }
        } else if let p = port(Substring(text)) {
            host = "127.0.0.1"
            self.port = p
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            let name = text[..<colon]
            guard let p = port(text[text.index(after: colon)...]) else { return nil }
            host = name.isEmpty ? "127.0.0.1" : String(name)
            self.port = p
        } else if text.contains(":") {
            host = text  // a bare IPv6 address
            self.port = Self.defaultPort
        } else {
            host = text
            self.port = Self.defaultPort
        }
        // An IPv6 address must be one; other names are host names or IPv4 addresses.
        if host.contains(":") {
            var v6 = in6_addr()
            guard inet_pton(AF_INET6, host, &v6) == 1 else { return nil }
        } else {
            guard !host.isEmpty,
                host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") })
            else {
                return nil
            }
        }
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How this process's last run ended, for `/healthz` and `/readyz`.
final class RunHealth: Sendable {
    /// How a run of this process ended, as `/healthz` says it.
    enum Outcome: String, Sendable {
        case succeeded
        case deferred
        /// Every app was held by other workers.
        case busy
        case failed

        /// A finished run's status.
        init(_ status: RunStatus) {
            switch status {
            case .succeeded: self = .succeeded
            case .deferred: self = .deferred
            case .failed, .running: self = .failed
            }
        }
    }

    struct LastRun: Sendable {
        var outcome: Outcome
        var at: Date
        var message: String
        /// Podio refused the credentials (`/readyz` fails until a run succeeds again).
        var credentialsRefused = false
    }

    private let state = Mutex<(last: LastRun?, runs: Int)>((nil, 0))

    func record(
        outcome: Outcome, message: String, at: Date = SystemClock().now(), credentialsRefused: Bool = false
    ) {
        state.withLock {
            $0.last = LastRun(outcome: outcome, at: at, message: message, credentialsRefused: credentialsRefused)
            $0.runs += 1
        }
    }

    var last: LastRun? { state.withLock { $0.last } }
    var runs: Int { state.withLock { $0.runs } }
}

/// `run --listen`: `/livez`, `/readyz`, `/healthz` and `/metrics` (Prometheus text) over HTTP,
/// with Hummingbird.
enum MonitoringServer {
    /// The Prometheus registry, and the metrics factory writing into it (which the engine is
    /// given, and which is bootstrapped once as the process's `MetricsSystem`).
    static func makeMetrics() -> (PrometheusCollectorRegistry, PrometheusMetricsFactory) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[MirrorMetrics.Name.runDuration] = [
            .seconds(1), .seconds(5), .seconds(15), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
            .seconds(600),
            .seconds(1800), .seconds(3600),
        ]
        MetricsSetup.bootstrap(factory)
        return (registry, factory)
    }

    /// The answer of `/healthz`: 200 while the database answers and this worker's last run did
    /// not fail; otherwise 503 and one line saying why.
    static func health(mirror: Mirror, runs: RunHealth) async -> (ok: Bool, line: String) {
        do {
            try await mirror.ping(within: 3)
        } catch {
            return (false, "unhealthy: the database does not answer: \(MirrorError(classifying: error).message)")
        }
        guard let last = runs.last else { return (true, "ok: the database answers; no run has finished yet") }
        let at = MirrorStatus.format(last.at)
        if last.outcome == .failed {
            return (false, "unhealthy: the last run failed at \(at): \(last.message)")
        }
        return (
            true,
            "ok: the database answers; the last run \(last.outcome == .busy ? "found every app held by other workers" : last.outcome.rawValue) at \(at)"
        )
    }

    /// The answer of `/readyz`: 200 while the database answers and the last run was not refused
    /// by Podio for its credentials (a failure that waiting does not cure); a run that failed
    /// otherwise (Podio down, a database error) leaves the worker ready, as it retries itself.
    static func readiness(mirror: Mirror, runs: RunHealth) async -> (ok: Bool, line: String) {
        do {
            try await mirror.ping(within: 3)
        } catch {
            return (false, "not ready: the database does not answer: \(MirrorError(classifying: error).message)")
        }
        if let last = runs.last, last.credentialsRefused {
            return (
                false, "not ready: Podio refused the credentials at \(MirrorStatus.format(last.at)): \(last.message)"
            )
        }
        return (true, "ready: the database answers")
    }

    /// Brings the gauges read from the database up to date (the quota of every identity, each
    /// app's lag), then the whole registry as Prometheus text.
    static func metricsText(
        mirror: Mirror, registry: PrometheusCollectorRegistry, metrics: MirrorMetrics, settings: MirrorSettings,
        logger: Logger
    ) async -> String {
        let policy = settings.quota
        metrics.buildInfo(version: PodioMirrorVersion.number, commit: PodioMirrorVersion.commit)
        for tier in QuotaTier.allCases {
            metrics.quotaLimit(tier: tier.rawValue, calls: policy.limit(tier))
        }
        do {
            let (report, lastSuccess) = try await mirror.monitoringReport()
            for q in report.quota {
                metrics.quota(
                    identity: MirrorMetrics.identityLabel(q.credential, configured: settings.identityLabel),
                    tier: q.tier, used: q.used, free: q.free)
            }
            for app in report.apps {
                metrics.appInfo(appID: app.appID, name: app.name, table: app.table ?? "")
                if let at = app.lastFullSync { metrics.appLastSuccess(appID: app.appID, mode: "full", at: at) }
                if let at = app.lastDeltaSync { metrics.appLastSuccess(appID: app.appID, mode: "delta", at: at) }
                if app.gone == nil, let lag = app.lagSeconds { metrics.appLag(appID: app.appID, seconds: lag) }
                if app.gone == nil, let lag = app.reconciliationLagSeconds {
                    metrics.appReconciliationLag(appID: app.appID, seconds: lag)
                }
            }
            for (kind, at) in lastSuccess { metrics.lastSuccess(kind: kind, at: at) }
            metrics.appsGone(report.apps.filter { $0.gone != nil }.count)
            // Every app has both series (0 without hooks), so rates and alerts see them.
            let hooked = report.apps.filter { $0.gone == nil || $0.hooksActive + $0.hooksInactive > 0 }
            metrics.hooks(
                pending: report.hookEventsPending,
                missed: Dictionary(uniqueKeysWithValues: hooked.map { ($0.appID, $0.missedByHooks) }),
                active: Dictionary(uniqueKeysWithValues: hooked.map { ($0.appID, $0.hooksActive) }))
        } catch {
            logger.warning(
                "the metrics could not read the database",
                metadata: ["error": "\(MirrorError(classifying: error).message)"])
        }
        return registry.emitToString()
    }

    /// The HTTP service.
    static func application(
        address: ListenAddress, mirror: Mirror, runs: RunHealth, registry: PrometheusCollectorRegistry,
        metrics: MirrorMetrics, settings: MirrorSettings, receiver: HookReceiver? = nil, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some Service {
        let router = Router()
        router.get("/livez") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "ok: the process answers\n")))
        }
        router.get("/readyz") { _, _ -> Response in
            let (ok, line) = await readiness(mirror: mirror, runs: runs)
            return Response(
                status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: line + "\n")))
        }
        router.get("/healthz") { _, _ -> Response in
            let (ok, line) = await health(mirror: mirror, runs: runs)
            return Response(
                status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: line + "\n")))
        }
        router.get("/metrics") { _, _ -> Response in
            let text = await metricsText(
                mirror: mirror, registry: registry, metrics: metrics, settings: settings, logger: logger)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        receiver?.register(on: router)
        return Application(
            router: router, configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? address.port) },
            logger: logger)
    }
}

/// The process's `MetricsSystem`, bootstrapped once (swift-metrics traps on a second bootstrap).
enum MetricsSetup {
    private static let done = Mutex(false)

    static func bootstrap(_ factory: PrometheusMetricsFactory) {
        let first = done.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first { MetricsSystem.bootstrap(factory) }
    }
}
