import Foundation
import LibPQ
import Logging
import PodioAPI

/// `podio-mirror check`: whether a setup can work, before `migrate` and the first sync. It
/// writes nothing to the mirror's tables (its calls are booked in the quota ledger when the
/// database holds a current schema, and a token it obtains is stored as a run's would be).
///
/// Podio is asked at most `callBudget` API calls (`quirkBudget` more with `podioQuirks`), said
/// before the first is made; the calls go through the quota ledger when there is one, else
/// through a gate that refuses a call of a tier whose last answer left little (`CheckGate`).
///
/// The checks are types of their own: the database (`DatabaseCheck`), Podio's credentials and
/// endpoints (`PodioCheck`, `EndpointProbes`), the quirks (`QuirkProbes`) and the hook URL
/// (`HookURLCheck`); this type runs them in order and redacts their lines.
public struct MirrorCheck: Sendable {
    /// The API calls the check spends at most (token grants not included).
    public static let callBudget = 10
    /// The API calls `--podio-quirks` spends at most, on top.
    public static let quirkBudget = 20

    public var settings: MirrorSettings
    /// `--hook-url`: the public base URL that should reach `run --listen`.
    public var hookURL: String?
    /// `--podio-quirks`: measure what reference §12 leaves open.
    public var podioQuirks = false
    let transport: any HTTPTransport
    let clock: any WallClock
    let logger: Logger

    public init(
        settings: MirrorSettings, hookURL: String? = nil, podioQuirks: Bool = false, transport: any HTTPTransport,
        clock: any WallClock = SystemClock(), logger: Logger
    ) {
        self.settings = settings
        self.hookURL = hookURL
        self.podioQuirks = podioQuirks
        self.transport = transport
        self.clock = clock
        self.logger = logger
    }

    /// Runs every check; `onLine` sees each line as soon as it is known (the plan line before
    /// any call to Podio).
    public func run(onLine: (CheckReport.Line) -> Void = { _ in }) async -> CheckReport {
        var report = CheckReport()
        let secrets = secrets
        func add(_ line: CheckReport.Line) {
            var line = line
            // One line each: libpq's messages span lines.
            line.message = Self.redact(line.message, secrets).split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            line.fix = line.fix.map { Self.redact($0, secrets) }
            report.lines.append(line)
            onLine(line)
        }
        let database = await DatabaseCheck(settings: settings, logger: logger).run(add)
        defer { database.db?.close() }
        let podio = await PodioCheck(
            settings: settings, hookURL: hookURL, podioQuirks: podioQuirks, transport: transport, clock: clock,
            logger: logger
        ).run(schemaCurrent: database.schemaCurrent, add)
        report.tiers = podio.tiers
        report.quirks = podio.quirks
        report.callsAnnounced = podio.callsAnnounced
        report.callsSpent = podio.callsSpent
        report.tokenGrants = podio.tokenGrants
        if let hookURL { add(await HookURLCheck(transport: transport).run(hookURL)) }
        return report
    }

    /// The configured secrets (client secret, password, app tokens), which no line may carry.
    var secrets: [String] {
        var all = [settings.apiKey?.clientSecret].compactMap { $0 } + settings.appTokens.values
        if case .password(_, let password)? = settings.userCredentials { all.append(password) }
        return all.filter { !$0.isEmpty }
    }

    static func redact(_ text: String, _ secrets: [String]) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "<redacted>") }
    }
}
