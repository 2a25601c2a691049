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
    /// The mirror's view of the hook.
    public var mirrorStatus: HookVerification
    /// What the command did (nil: `hooks list` reports, does nothing).
    public var action: HookAction?
    public var lastEventAt: Date?
    /// The URL with the secret redacted.
    public var url: String
}

/// Registers, checks and removes the mirror's Podio webhooks (reference §7.3): every call is a
/// general-tier call through the quota ledger. Idempotent: hooks Podio lists for the mirror (by
/// the recorded hook id first, then by the secret inside the URL, whatever Podio did to the rest
/// of it) are kept, inactive ones asked to verify again (backing off per hook, and never while
/// the receiver does not answer its self-check), missing ones created; hooks of an older URL and
/// duplicates are deleted.
public final class HookManager: Sendable {
    let settings: MirrorSettings
    let transport: any HTTPTransport
    let clock: any WallClock
    let metrics: MirrorMetrics
    let logger: Logger
    /// Replaces the receiver's self-check (tests): given the full hook URL, whether it answered.
    let receiverCheck: (@Sendable (String) async -> Bool)?
    /// How long a `hook.verify` for a hook id not recorded yet is accepted after an install.
    public static let verifyWindow: Double = 600
    /// The `type` of the receiver's self-check (never one of Podio's).
    public static let selfCheckType = "podio-mirror.self-check"

    public init(
        settings: MirrorSettings, transport: any HTTPTransport, clock: any WallClock = SystemClock(),
        metrics: MirrorMetrics = MirrorMetrics(),
        receiverCheck: (@Sendable (String) async -> Bool)? = nil,
        logger: Logger
    ) {
        self.settings = settings
        self.transport = transport
        self.clock = clock
        self.metrics = metrics
        self.receiverCheck = receiverCheck
        self.logger = logger
    }

    /// The event types registered on every app (`HookEventType.registered`).
    public var eventTypes: [String] {
        HookEventType.registered(comments: settings.comments).map(\.rawValue)
    }

    /// The wait after the `attempts`-th verification request before the next one: 1 minute,
    /// doubling, at most an hour (Podio documents no rate; each request is a general-tier call).
    public static func verifyBackoff(attempts: Int) -> Double {
        let doublings = min(max(attempts, 1) - 1, 6)
        return min(3600, 60 * Double(1 << doublings))
    }

    /// Whether the receiver answers at the hook URL: one POST of a self-check (a nonce it must
    /// echo), not a call to Podio. Asking Podio to verify a hook the receiver cannot hear only
    /// spends the quota.
    func receiverAnswers(at full: String, secret: String) async -> Bool {
        if let receiverCheck { return await receiverCheck(full) }
        let nonce = String(HookURL.generateSecret().prefix(16))
        let request = TransportRequest(
            method: "POST", url: full,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("User-Agent", "podio-mirror")],
            body: Data("type=\(Self.selfCheckType)&nonce=\(nonce)".utf8), timeout: 5)
        do {
            let response = try await transport.send(request)
            if response.status == 200 && String(decoding: response.body, as: UTF8.self).contains(nonce) { return true }
            logger.notice(
                "the receiver's self-check at \(HookURL.redact(full, secret: secret)) was answered \(response.status), not by podio-mirror"
            )
        } catch {
            logger.notice(
                "the receiver does not answer its self-check at \(HookURL.redact(full, secret: secret)): \(HookURL.redact(String(describing: error), secret: secret))"
            )
        }
        return false
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
        _ = try await session.db.run { try MirrorStore(db: $0).hooks.lockHooks(wait: true) }
        let secret =
            try await session.db.run {
                try MirrorStore(db: $0).hooks.hookSecret(creatingWith: HookURL.generateSecret())
            }
            ?? ""
        let apps = try await mirroredApps(session)
        guard !apps.isEmpty else {
            throw MirrorError(
                .usage, "no app is mirrored yet", fix: "run `podio-mirror sync` first; hooks go on the mirrored apps")
        }
        let until = clock.now().addingTimeInterval(Self.verifyWindow)
        try await session.db.run { try MirrorStore(db: $0).hooks.openVerifyWindow(until: until) }
        let answered = await receiverAnswers(at: HookURL.full(base: base, secret: secret), secret: secret)
        if !answered {
            logger.notice(
                "hooks waiting for their verification are not asked to verify again until the receiver answers at the URL"
            )
        }
        var lines: [HookLine] = []
        var unreachable: [String] = []
        for appID in apps {
            do {
                lines += try await ensure(
                    appID: appID, base: base, secret: secret, receiverAnswered: answered, session: session)
            } catch let error as PodioError where error.isRefusedOrGone {
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
    /// Podio reports inactive is asked to verify again (when its back-off allows and the receiver
    /// answers), one it no longer lists is created again. `onlyDue`: a round for hooks waiting
    /// for their verification, which asks Podio nothing unless the receiver answers and a hook's
    /// back-off has ended (then only those hooks' apps are listed).
    public func check(onlyDue: Bool = false) async throws -> HookCheck {
        let session = try await session()
        defer { session.close() }
        guard let secret = try await session.db.run({ try MirrorStore(db: $0).hooks.hookSecret() }) else {
            return HookCheck()
        }
        guard try await session.db.run({ try MirrorStore(db: $0).hooks.lockHooks(wait: false) }) else {
            logger.debug("an install or another worker is registering hooks; the check waits for the next round")
            return HookCheck(busy: true)
        }
        let recorded = try await session.db.run { try MirrorStore(db: $0).hooks.hooks() }
        guard let anyBase = recorded.last?.url else { return HookCheck() }
        let answered = await receiverAnswers(at: HookURL.full(base: anyBase, secret: secret), secret: secret)
        var apps = Set(recorded.map(\.appID))
        if onlyDue {
            let now = clock.now()
            guard answered else { return HookCheck(receiverAnswered: false) }
            apps = Set(recorded.filter { !$0.isActive && ($0.nextVerifyAt ?? now) <= now }.map(\.appID))
        }
        var lines: [HookLine] = []
        for appID in apps.sorted() {
            guard let base = recorded.last(where: { $0.appID == appID })?.url else { continue }
            do {
                lines += try await ensure(
                    appID: appID, base: base, secret: secret, receiverAnswered: answered, session: session)
            } catch  where !MirrorError.stopsExtras(error) {
                // One app's failure (no rights, gone, a 5xx) leaves the other apps checked; its
                // pending hooks back off as if asked, so that a round every minute does not list
                // them again and again.
                logger.warning(
                    "the hooks of app \(appID) cannot be checked: \(HookURL.redact(session.access.redact(String(describing: error)), secret: secret))"
                )
                let now = clock.now()
                for hook in recorded where hook.appID == appID && !hook.isActive {
                    let next = now.addingTimeInterval(Self.verifyBackoff(attempts: hook.verifyAttempts + 1))
                    try await session.db.run {
                        try MirrorStore(db: $0).hooks.markVerifyRequested(hookID: hook.hookID, at: now, next: next)
                    }
                }
            }
        }
        if lines.contains(where: { $0.action == .created || $0.action == .verificationRequested }) {
            let until = clock.now().addingTimeInterval(Self.verifyWindow)
            try await session.db.run { try MirrorStore(db: $0).hooks.openVerifyWindow(until: until) }
        }
        return HookCheck(lines: lines, receiverAnswered: answered)
    }

    /// Each recorded hook and each hook Podio lists at the mirror's URL, as both see it.
    public func list() async throws -> [HookLine] {
        let session = try await session()
        defer { session.close() }
        let secret = try await session.db.run { try MirrorStore(db: $0).hooks.hookSecret() }
        let recorded = try await session.db.run { try MirrorStore(db: $0).hooks.hooks() }
        var lines: [HookLine] = []
        for appID in Set(recorded.map(\.appID)).sorted() {
            let client = try session.access.client(for: appID)
            let listed: [PodioHook]
            do {
                listed = try await client.hooks(appID: appID)
            } catch let error as PodioError where error.isRefusedOrGone {
                listed = []
            }
            let mine = recorded.filter { $0.appID == appID }
            for hook in mine {
                let podio = listed.first { $0.hookID == hook.hookID }
                lines.append(
                    HookLine(
                        appID: appID, type: hook.type, hookID: hook.hookID,
                        podioStatus: podio.map { $0.status ?? "unknown" } ?? "missing",
                        mirrorStatus: hook.verifiedAt != nil ? .verified : .pending,
                        lastEventAt: hook.lastEventAt,
                        url: HookURL.full(base: hook.url, secret: HookURL.placeholder)))
            }
            if let secret {
                for hook in listed
                where HookURL.holdsSecret(hook.url, secret: secret)
                    && !mine.contains(where: { $0.hookID == hook.hookID })
                {
                    lines.append(
                        HookLine(
                            appID: appID, type: hook.type, hookID: hook.hookID, podioStatus: hook.status ?? "unknown",
                            mirrorStatus: .notRecorded,
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
        _ = try await session.db.run { try MirrorStore(db: $0).hooks.lockHooks(wait: true) }
        let secret = try await session.db.run { try MirrorStore(db: $0).hooks.hookSecret() }
        let recorded = try await session.db.run { try MirrorStore(db: $0).hooks.hooks() }
        var lines: [HookLine] = []
        for appID in Set(recorded.map(\.appID)).sorted() {
            let client = try session.access.client(for: appID)
            var ids = recorded.filter { $0.appID == appID }.map { ($0.hookID, $0.type, $0.url) }
            if let secret, let listed = try? await client.hooks(appID: appID) {
                for hook in listed
                where HookURL.holdsSecret(hook.url, secret: secret) && !ids.contains(where: { $0.0 == hook.hookID }) {
                    ids.append((hook.hookID, hook.type, ""))
                }
            }
            for (hookID, type, base) in ids {
                do {
                    try await client.deleteHook(hookID)
                } catch let error as PodioError where error.isGone {
                    // Already gone in Podio.
                }
                try await session.db.run { try MirrorStore(db: $0).hooks.deleteHookRecord(hookID: hookID) }
                lines.append(
                    HookLine(
                        appID: appID, type: type, hookID: hookID, podioStatus: "deleted", mirrorStatus: .removed,
                        action: .removed,
                        url: base.isEmpty ? "" : HookURL.full(base: base, secret: HookURL.placeholder)))
            }
        }
        try await session.db.run { try MirrorStore(db: $0).hooks.openVerifyWindow(until: nil) }
        return lines
    }

    /// The apps hooks go on: the mirrored apps (stored definitions) that Podio still serves,
    /// limited to `PODIO_APPS` when set.
    private func mirroredApps(_ session: EngineSession) async throws -> [Int] {
        let chosen = settings.apps
        return try await session.db.run { try MirrorStore(db: $0).hooks.mirroredApps() }.filter {
            chosen?.contains($0) ?? true
        }
    }

    /// One app: Podio's hooks listed, the mirror's kept (matched by the recorded hook id, then by
    /// the secret in the URL), old ones and duplicates deleted, missing ones created, inactive ones
    /// asked to verify again when their back-off allows and the receiver answers.
    private func ensure(
        appID: Int, base: String, secret: String, receiverAnswered: Bool, session: EngineSession
    ) async throws -> [HookLine] {
        let client = try session.access.client(for: appID)
        let full = HookURL.full(base: base, secret: secret)
        let shown = HookURL.full(base: base, secret: HookURL.placeholder)
        let listed = try await client.hooks(appID: appID)
        let recorded = try await session.db.run { try MirrorStore(db: $0).hooks.hooks(appID: appID) }
        let wanted = eventTypes
        let now = clock.now()
        // Records Podio no longer lists are forgotten (created again below).
        for hook in recorded where !listed.contains(where: { $0.hookID == hook.hookID }) {
            if wanted.contains(hook.type) && HookURL.sameBase(hook.url, base) {
                logger.warning(
                    "hook \(hook.hookID) (\(hook.type)) of app \(appID) is no longer in Podio; it is created again")
            }
            try await session.db.run { try MirrorStore(db: $0).hooks.deleteHookRecord(hookID: hook.hookID) }
        }
        // Podio's hooks that are the mirror's: recorded ids first, then any holding the secret.
        // One per wanted type is kept; the others (an older URL, a type no longer wanted, a
        // duplicate) are deleted in Podio and here.
        let recordedIDs = Set(recorded.map(\.hookID))
        let mine = listed.filter { recordedIDs.contains($0.hookID) || HookURL.holdsSecret($0.url, secret: secret) }
            .sorted {
                (recordedIDs.contains($0.hookID) ? 0 : 1, $0.hookID) < (
                    recordedIDs.contains($1.hookID) ? 0 : 1, $1.hookID
                )
            }
        var kept: [String: PodioHook] = [:]
        var lines: [HookLine] = []
        for hook in mine {
            let hookBase =
                recorded.first { $0.hookID == hook.hookID }?.url ?? HookURL.base(of: hook.url, secret: secret)
            if wanted.contains(hook.type), kept[hook.type] == nil, let hookBase, HookURL.sameBase(hookBase, base) {
                kept[hook.type] = hook
                continue
            }
            do {
                try await client.deleteHook(hook.hookID)
            } catch let error as PodioError where error.isGone {}
            try await session.db.run { try MirrorStore(db: $0).hooks.deleteHookRecord(hookID: hook.hookID) }
            let reason =
                !wanted.contains(hook.type)
                ? "a type no longer wanted" : kept[hook.type] != nil ? "a duplicate" : "an older URL"
            logger.info("hook \(hook.hookID) (\(hook.type)) of app \(appID) deleted: \(reason)")
            lines.append(
                HookLine(
                    appID: appID, type: hook.type, hookID: hook.hookID, podioStatus: "deleted", mirrorStatus: .removed,
                    action: .removed, url: HookURL.redact(hook.url, secret: secret)))
        }
        for type in wanted {
            if let hook = kept[type] {
                let status = hook.status ?? PodioHook.inactiveStatus
                try await session.db.run {
                    try MirrorStore(db: $0).hooks.recordHook(
                        hookID: hook.hookID, appID: appID, type: type, url: base, status: status)
                }
                var action = HookAction.kept
                if !hook.isActive {
                    let stored = recorded.first { $0.hookID == hook.hookID }
                    if !receiverAnswered {
                        action = .receiverNotAnswering
                    } else if let next = stored?.nextVerifyAt, next > now {
                        action = .backingOff
                        logger.debug(
                            "hook \(hook.hookID) (\(type)) of app \(appID) is \(status); the next verification request is due at \(PodioTime.format(next))"
                        )
                    } else {
                        // The attempt is recorded first: a request that fails backs off too.
                        let next = now.addingTimeInterval(
                            Self.verifyBackoff(attempts: (stored?.verifyAttempts ?? 0) + 1))
                        try await session.db.run {
                            try MirrorStore(db: $0).hooks.markVerifyRequested(hookID: hook.hookID, at: now, next: next)
                        }
                        try await client.requestHookVerification(hook.hookID)
                        action = .verificationRequested
                        logger.info(
                            "hook \(hook.hookID) (\(type)) of app \(appID) is \(status) in Podio; verification requested again"
                        )
                    }
                }
                lines.append(
                    HookLine(
                        appID: appID, type: type, hookID: hook.hookID, podioStatus: status,
                        mirrorStatus: hook.isActive ? .verified : .pending, action: action,
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
                    try MirrorStore(db: $0).hooks.recordHook(
                        hookID: hookID, appID: appID, type: type, url: base, status: PodioHook.inactiveStatus)
                }
                // Podio sends the verification of a new hook by itself: the next request waits
                // for the back-off, unless the receiver could not hear this one.
                let next = receiverAnswered ? now.addingTimeInterval(Self.verifyBackoff(attempts: 1)) : nil
                try await session.db.run {
                    try MirrorStore(db: $0).hooks.markVerifyRequested(hookID: hookID, at: now, next: next)
                }
                lines.append(
                    HookLine(
                        appID: appID, type: type, hookID: hookID, podioStatus: PodioHook.inactiveStatus,
                        mirrorStatus: .pending,
                        action: .created, url: shown))
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
        let deadline = clock.now().addingTimeInterval(max(0, wait))
        while true {
            let pending = lines.filter { $0.mirrorStatus != .verified && $0.action != .removed }
            if pending.isEmpty {
                // Every hook is verified: no verification for an unknown hook id is accepted now.
                try await session.db.run { try MirrorStore(db: $0).hooks.openVerifyWindow(until: nil) }
                break
            }
            let worker = session.eventWorker(
                settings: settings, clock: clock, metrics: metrics, maxWait: 60, logger: logger)
            _ = await worker.drainHookEvents()
            let recorded = try await session.db.run { try MirrorStore(db: $0).hooks.hooks() }
            for i in lines.indices {
                if let hook = recorded.first(where: { $0.hookID == lines[i].hookID }), hook.isActive {
                    lines[i].mirrorStatus = .verified
                    lines[i].podioStatus = PodioHook.activeStatus
                }
            }
            if clock.now() >= deadline { break }
            try await clock.sleep(seconds: 0.25)
        }
        return lines
    }
}
