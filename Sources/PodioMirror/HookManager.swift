import Foundation
import LibPQ
import Logging
import PodioAPI

/// One hook as `hooks install`, `list`, `remove` and the reconciliation report it.
public struct HookLine: Sendable, Equatable {
    public var appID: Int
    public var type: String
    public var hookID: Int?
    /// Podio's status (`active`, `inactive`), `missing` when Podio does not list it, nil when not asked.
    public var podioStatus: String?
    /// The mirror's view: `verified` (validated), `pending verification`, `not recorded`.
    public var mirrorStatus: String
    /// What the command did: `kept`, `created`, `verification requested`, `removed`, `re-created`.
    public var action: String?
    public var lastEventAt: Date?
    /// The URL with the secret redacted.
    public var url: String
}

/// Registers, checks and removes the mirror's Podio webhooks (reference §7.3): every call is a
/// general-tier call through the quota ledger. Idempotent: hooks Podio lists at the mirror's URL
/// are kept, inactive ones asked to verify again, missing ones created; hooks recorded for an
/// older URL are deleted.
public final class HookManager: Sendable {
    let settings: MirrorSettings
    let transport: any HTTPTransport
    let clock: any LedgerClock
    let metrics: MirrorMetrics
    let logger: Logger
    /// How long a `hook.verify` for a hook id not recorded yet is accepted after an install.
    public static let verifyWindow: Double = 600

    public init(
        settings: MirrorSettings, transport: any HTTPTransport, clock: any LedgerClock = SystemClock(),
        metrics: MirrorMetrics = MirrorMetrics(),
        logger: Logger
    ) {
        self.settings = settings
        self.transport = transport
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
    }

    /// The event types registered on every app.
    public var eventTypes: [String] {
        ["item.create", "item.update", "item.delete", "app.update"]
            + (settings.comments ? ["comment.create", "comment.delete"] : [])
    }

    private func session() async throws -> EngineSession {
        try await EngineSession.open(
            settings: settings, transport: transport, clock: clock, metrics: metrics, maxWait: 600,
            applicationName: "podio-mirror hooks",
            logger: logger)
    }

    /// Registers the hooks on every mirrored app at `base` (+ `/hooks/` + the secret), then waits
    /// up to `wait` seconds for their verification (a running `run --listen` validates it; events
    /// it queued are also validated here).
    public func install(url base: String, wait: Double = 15) async throws -> [HookLine] {
        let base = try HookURL.validate(base: base)
        let session = try await session()
        defer { session.close() }
        // One registration at a time (a worker's check, another install); the session's end
        // releases the lock too.
        _ = try await session.db.run { try MirrorStore(db: $0).lockHooks(wait: true) }
        let secret =
            try await session.db.run { try MirrorStore(db: $0).hookSecret(creatingWith: HookURL.generateSecret()) }
            ?? ""
        let apps = try await mirroredApps(session)
        guard !apps.isEmpty else {
            throw MirrorError(
                .usage, "no app is mirrored yet", fix: "run `podio-mirror sync` first; hooks go on the mirrored apps")
        }
        let until = clock.now().addingTimeInterval(Self.verifyWindow)
        try await session.db.run { try MirrorStore(db: $0).openVerifyWindow(until: until) }
        var lines: [HookLine] = []
        var unreachable: [String] = []
        for appID in apps {
            do {
                lines += try await ensure(appID: appID, base: base, secret: secret, session: session)
            } catch let error as PodioError where [403, 404, 410].contains(error.status ?? 0) {
                // An app these credentials cannot put hooks on: the others still get theirs.
                let message = HookURL.redact(session.access.redact(error.description), secret: secret)
                logger.warning("no hooks on app \(appID): \(message)")
                unreachable.append("app \(appID) (Podio answered \(error.status.map(String.init) ?? "an error"))")
            }
        }
        let result = try await awaitVerification(lines, wait: wait, secret: secret, session: session)
        if !unreachable.isEmpty {
            throw MirrorError(
                .usage, "hooks could not be registered on \(unreachable.joined(separator: ", "))",
                fix: "the user needs the right to add hooks to the app (add_hook), or leave it out with PODIO_APPS")
        }
        return result
    }

    /// Reconciliation: every app with recorded hooks is checked against Podio's list; a hook
    /// Podio reports inactive is asked to verify again, one it no longer lists is created again.
    public func check() async throws -> [HookLine] {
        let session = try await session()
        defer { session.close() }
        guard let secret = try await session.db.run({ try MirrorStore(db: $0).hookSecret() }) else { return [] }
        guard try await session.db.run({ try MirrorStore(db: $0).lockHooks(wait: false) }) else {
            logger.debug("an install or another worker is registering hooks; the check waits for the next round")
            return []
        }
        let recorded = try await session.db.run { try MirrorStore(db: $0).hooks() }
        var lines: [HookLine] = []
        for appID in Set(recorded.map(\.appID)).sorted() {
            guard let base = recorded.last(where: { $0.appID == appID })?.url else { continue }
            do {
                lines += try await ensure(appID: appID, base: base, secret: secret, session: session)
            } catch let error as PodioError where [403, 404, 410].contains(error.status ?? 0) {
                logger.warning(
                    "the hooks of app \(appID) cannot be checked: \(HookURL.redact(session.access.redact(error.description), secret: secret))"
                )
            }
        }
        if lines.contains(where: { $0.action != nil && $0.action != "kept" }) {
            let until = clock.now().addingTimeInterval(Self.verifyWindow)
            try await session.db.run { try MirrorStore(db: $0).openVerifyWindow(until: until) }
        }
        return lines
    }

    /// Each recorded hook and each hook Podio lists at the mirror's URL, as both see it.
    public func list() async throws -> [HookLine] {
        let session = try await session()
        defer { session.close() }
        let secret = try await session.db.run { try MirrorStore(db: $0).hookSecret() }
        let recorded = try await session.db.run { try MirrorStore(db: $0).hooks() }
        var lines: [HookLine] = []
        for appID in Set(recorded.map(\.appID)).sorted() {
            let client = try session.access.client(for: appID)
            let listed: [PodioHook]
            do {
                listed = try await client.hooks(appID: appID)
            } catch let error as PodioError where [403, 404, 410].contains(error.status ?? 0) {
                listed = []
            }
            let mine = recorded.filter { $0.appID == appID }
            for hook in mine {
                let podio = listed.first { $0.hookID == hook.hookID }
                lines.append(
                    HookLine(
                        appID: appID, type: hook.type, hookID: hook.hookID,
                        podioStatus: podio.map { $0.status ?? "unknown" } ?? "missing",
                        mirrorStatus: hook.verifiedAt != nil ? "verified" : "pending verification",
                        lastEventAt: hook.lastEventAt,
                        url: HookURL.full(base: hook.url, secret: HookURL.placeholder)))
            }
            if let secret {
                for hook in listed
                where hook.url.contains(secret) && !mine.contains(where: { $0.hookID == hook.hookID }) {
                    lines.append(
                        HookLine(
                            appID: appID, type: hook.type, hookID: hook.hookID, podioStatus: hook.status ?? "unknown",
                            mirrorStatus: "not recorded",
                            url: HookURL.redact(hook.url, secret: secret)))
                }
            }
        }
        return lines
    }

    /// Deletes the mirror's hooks in Podio (a hook Podio no longer has counts as deleted) and in
    /// `podio.hooks`.
    public func remove() async throws -> [HookLine] {
        let session = try await session()
        defer { session.close() }
        _ = try await session.db.run { try MirrorStore(db: $0).lockHooks(wait: true) }
        let secret = try await session.db.run { try MirrorStore(db: $0).hookSecret() }
        let recorded = try await session.db.run { try MirrorStore(db: $0).hooks() }
        var lines: [HookLine] = []
        for appID in Set(recorded.map(\.appID)).sorted() {
            let client = try session.access.client(for: appID)
            var ids = recorded.filter { $0.appID == appID }.map { ($0.hookID, $0.type, $0.url) }
            if let secret, let listed = try? await client.hooks(appID: appID) {
                for hook in listed where hook.url.contains(secret) && !ids.contains(where: { $0.0 == hook.hookID }) {
                    ids.append((hook.hookID, hook.type, ""))
                }
            }
            for (hookID, type, base) in ids {
                do {
                    try await client.deleteHook(hookID)
                } catch let error as PodioError where error.kind == .notFound || error.kind == .gone {
                    // Already gone in Podio.
                }
                try await session.db.run { try MirrorStore(db: $0).deleteHookRecord(hookID: hookID) }
                lines.append(
                    HookLine(
                        appID: appID, type: type, hookID: hookID, podioStatus: "deleted", mirrorStatus: "removed",
                        action: "removed",
                        url: base.isEmpty ? "" : HookURL.full(base: base, secret: HookURL.placeholder)))
            }
        }
        try await session.db.run { try MirrorStore(db: $0).openVerifyWindow(until: nil) }
        return lines
    }

    /// The apps hooks go on: the mirrored apps (stored definitions) that Podio still serves,
    /// limited to `PODIO_APPS` when set.
    private func mirroredApps(_ session: EngineSession) async throws -> [Int] {
        let chosen = settings.apps
        return try await session.db.run { try MirrorStore(db: $0).mirroredApps() }.filter {
            chosen?.contains($0) ?? true
        }
    }

    /// One app: Podio's hooks listed, the mirror's kept, old ones deleted, missing ones created,
    /// inactive ones asked to verify again.
    private func ensure(appID: Int, base: String, secret: String, session: EngineSession) async throws -> [HookLine] {
        let client = try session.access.client(for: appID)
        let full = HookURL.full(base: base, secret: secret)
        let shown = HookURL.full(base: base, secret: HookURL.placeholder)
        let listed = try await client.hooks(appID: appID)
        let recorded = try await session.db.run { try MirrorStore(db: $0).hooks(appID: appID) }
        let wanted = eventTypes
        // Hooks of the mirror for another URL or a type no longer wanted go (in Podio and here);
        // records Podio no longer lists are forgotten (created again below).
        for hook in recorded {
            let inPodio = listed.first { $0.hookID == hook.hookID }
            if hook.url != base || !wanted.contains(hook.type) {
                if inPodio != nil {
                    do {
                        try await client.deleteHook(hook.hookID)
                    } catch let error as PodioError where error.kind == .notFound || error.kind == .gone {}
                }
                try await session.db.run { try MirrorStore(db: $0).deleteHookRecord(hookID: hook.hookID) }
            } else if inPodio == nil {
                logger.warning(
                    "hook \(hook.hookID) (\(hook.type)) of app \(appID) is no longer in Podio; it is created again")
                try await session.db.run { try MirrorStore(db: $0).deleteHookRecord(hookID: hook.hookID) }
            }
        }
        var lines: [HookLine] = []
        for type in wanted {
            if let hook = listed.first(where: { $0.url == full && $0.type == type }) {
                let status = hook.status ?? "inactive"
                try await session.db.run {
                    try MirrorStore(db: $0).recordHook(
                        hookID: hook.hookID, appID: appID, type: type, url: base, status: status)
                }
                var action = "kept"
                if status != "active" {
                    try await client.requestHookVerification(hook.hookID)
                    try await session.db.run { try MirrorStore(db: $0).markVerifyRequested(hookID: hook.hookID) }
                    action = "verification requested"
                    logger.info(
                        "hook \(hook.hookID) (\(type)) of app \(appID) is \(status) in Podio; verification requested again"
                    )
                }
                lines.append(
                    HookLine(
                        appID: appID, type: type, hookID: hook.hookID, podioStatus: status,
                        mirrorStatus: status == "active" ? "verified" : "pending verification", action: action,
                        url: shown))
            } else {
                let hookID: Int
                do {
                    hookID = try await client.createHook(appID: appID, url: full, type: type)
                } catch let error as PodioError where error.kind == .invalidRequest || error.status == 403 {
                    throw MirrorError(
                        .usage,
                        "Podio refused the \(type) hook on app \(appID): \(HookURL.redact(session.access.redact(error.description), secret: secret))",
                        fix:
                            "Podio posts only to ports 80 and 443 of a public address: check --url (a reverse proxy or a tunnel in front of `run --listen`)"
                    )
                }
                try await session.db.run {
                    try MirrorStore(db: $0).recordHook(
                        hookID: hookID, appID: appID, type: type, url: base, status: "inactive")
                }
                try await session.db.run { try MirrorStore(db: $0).markVerifyRequested(hookID: hookID) }
                lines.append(
                    HookLine(
                        appID: appID, type: type, hookID: hookID, podioStatus: "inactive",
                        mirrorStatus: "pending verification",
                        action: "created", url: shown))
            }
        }
        return lines
    }

    /// Waits up to `wait` seconds for pending hooks to be verified: validates the `hook.verify`
    /// events already queued (the receiver of `run --listen` queued them; a running `run`
    /// validates them as well), then reads the hooks' state again.
    private func awaitVerification(_ lines: [HookLine], wait: Double, secret: String, session: EngineSession)
        async throws -> [HookLine]
    {
        var lines = lines
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, wait) * 1000))
        while true {
            let pending = lines.filter { $0.mirrorStatus != "verified" }
            if pending.isEmpty {
                // Every hook is verified: no verification for an unknown hook id is accepted now.
                try await session.db.run { try MirrorStore(db: $0).openVerifyWindow(until: nil) }
                break
            }
            let context = session.context(
                settings: settings, clock: clock, metrics: metrics, maxWait: 60, logger: logger)
            _ = await context.drainHookEvents()
            let recorded = try await session.db.run { try MirrorStore(db: $0).hooks() }
            for i in lines.indices {
                if let hook = recorded.first(where: { $0.hookID == lines[i].hookID }), hook.status == "active" {
                    lines[i].mirrorStatus = "verified"
                    lines[i].podioStatus = "active"
                }
            }
            if ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        return lines
    }
}
