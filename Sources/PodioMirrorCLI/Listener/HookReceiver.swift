import Foundation
import Hummingbird
import Logging
import NIOCore
import PodioAPI
import PodioMirror
import Synchronization

/// The webhook receiver of `run --listen`: `POST …/hooks/<secret>` from Podio, its body
/// form-encoded, multipart or JSON (Podio documents none: `HookPayload`). An event is queued in
/// `podio.hook_events` (committed) before the 200; the event worker applies it. An event without
/// `hook_id` (not documented either way) is taken when its type and ids are well formed: the
/// secret path is what authenticates it, and its app is the one the mirror knows for its item
/// (or a hooked app), never the payload's alone. The first event of each type logs its field
/// names once (never values), so a deployment shows Podio's real shape.
/// Everything else gets a 4xx and one log line that never shows the secret or a value: a wrong
/// path 404 (the same answer as any unknown path), an unknown content type 415, a body over
/// 16 KiB 413, a malformed body 400 (with the field names it had), an unknown hook id 403, more
/// than the rate allows 429 (logged once a second); a database that does not answer 503 (Podio
/// does not retry: reconciliation catches up). Each refusal is counted by reason in /metrics.
final class HookReceiver: Sendable {
    /// Podio's deliveries are a few hundred bytes.
    static let maxBody = 16 * 1024
    /// `hook.verify` events of unknown hook ids queued at most at once (the install race).
    static let maxUnknownVerifications = 20

    let mirror: Mirror
    let metrics: MirrorMetrics
    let logger: Logger
    let wake: HookSignal
    private let bucket: TokenBucket
    private let state = Mutex<Cache>(Cache())
    /// Measures the waits of the cache and of the rate's log line (seconds since the receiver was made).
    private let stopwatch = Stopwatch()

    struct Cache {
        var secret: String?
        var secretLoadedAt: Double?
        var hooks: [Int: Int] = [:]
        var lastRateLog: Double?
        /// Event types (with their encoding) whose field names were logged.
        var shapesLogged: Set<String> = []
    }

    init(
        mirror: Mirror, metrics: MirrorMetrics, wake: HookSignal, ratePerSecond: Double = 50, burst: Double = 200,
        logger: Logger
    ) {
        self.mirror = mirror
        self.metrics = metrics
        self.wake = wake
        self.bucket = TokenBucket(rate: ratePerSecond, burst: burst)
        self.logger = logger
    }

    /// Adds the route: every POST, so that a wrong path answers exactly as an unknown one.
    func register(on router: Router<BasicRequestContext>) {
        router.post("**") { request, _ -> Response in await self.handle(request) }
        // Other methods at the hook URL: 405 and a log line; anywhere else the plain 404.
        for method in [HTTPRequest.Method.get, .put, .delete, .patch, .head] {
            router.on("**", method: method) { request, _ -> Response in await self.otherMethod(request) }
        }
    }

    private func otherMethod(_ request: Request) async -> Response {
        guard let secret = await currentSecret(), Self.matches(path: request.uri.path, secret: secret) else {
            return Self.answer(.notFound, "not found")
        }
        return refuse(.methodNotAllowed, reason: "method", "\(request.method) at the hook URL (Podio POSTs)")
    }

    private static func answer(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    private func refuse(_ status: HTTPResponse.Status, reason: String, _ line: String) -> Response {
        metrics.hookRequestRefused(reason: reason)
        logger.notice("webhook request refused (\(status.code)): \(line)")
        return Self.answer(status, status == .notFound ? "not found" : line)
    }

    func handle(_ request: Request) async -> Response {
        guard bucket.take() else {
            metrics.hookRequestRefused(reason: "rate")
            let now = stopwatch.seconds
            let log = state.withLock { cache -> Bool in
                if let last = cache.lastRateLog, now - last < 1 { return false }
                cache.lastRateLog = now
                return true
            }
            if log { logger.notice("webhook requests refused (429): more than the receiver's rate") }
            return Self.answer(.tooManyRequests, "too many requests")
        }
        if HookProbe.matches(path: request.uri.path) { return await answerProbe(request) }
        let secret = await currentSecret()
        guard let secret, Self.matches(path: request.uri.path, secret: secret) else {
            return refuse(.notFound, reason: "path", "a POST to a path that is not the hook URL")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBody)
        } catch {
            return refuse(.contentTooLarge, reason: "size", "the body is larger than \(Self.maxBody) bytes")
        }
        let payload: HookPayload
        do throws(HookPayload.Failure) {
            payload = try HookPayload.parse(contentType: request.headers[.contentType], body: String(buffer: body))
        } catch {
            switch error {
            case .unsupported(let media):
                let shown = String(media.prefix(60).filter { $0.isASCII && !$0.isNewline })
                return refuse(
                    .unsupportedMediaType, reason: "content", "a body of type \(shown) (form, multipart or JSON)")
            case .malformed(let what):
                return refuse(.badRequest, reason: "body", "not a Podio event: \(what)")
            }
        }
        let form = payload.fields
        if form["type"] == HookManager.selfCheckType {
            // The mirror's own self-check (HookManager): echoes its nonce, touches nothing.
            let nonce = String((form["nonce"] ?? "").prefix(64).filter { $0.isHexDigit })
            return Self.answer(.ok, "self-check \(nonce)")
        }
        guard let type = form["type"].map(HookEventType.init(rawValue:)), HookEventType.posted.contains(type) else {
            return refuse(
                .badRequest, reason: "body",
                "not a Podio event (type missing or unknown; \(payload.format) fields: \(Self.names(form)))")
        }
        let hookField = form["hook_id"].flatMap { $0.isEmpty ? nil : $0 }  // empty: absent
        let hookID = hookField.flatMap { Int($0) } ?? 0
        if hookField != nil && hookID <= 0 {
            return refuse(.badRequest, reason: "body", "a \(type) event with a malformed hook_id")
        }
        func id(_ name: String) -> Int?? {
            guard let text = form[name], !text.isEmpty else { return .some(nil) }
            guard let value = Int(text), value > 0 else { return nil }  // present, malformed
            return .some(value)
        }
        guard let itemID = id("item_id"), let revisionID = id("item_revision_id"), let commentID = id("comment_id"),
            let appField = id("app_id")
        else {
            return refuse(.badRequest, reason: "body", "a \(type) event with a malformed id")
        }
        var event = HookEvent(
            hookID: hookID, type: type, itemID: itemID, itemRevisionID: revisionID, commentID: commentID,
            externalID: form["external_id"], code: form["code"])
        if type.namesItem && event.itemID == nil {
            return refuse(.badRequest, reason: "body", "a \(type) event without an item_id")
        }
        if hookID == 0 {
            // No hook id: the secret path vouches for it; what it names must be well formed.
            guard type != .verify else {
                return refuse(.badRequest, reason: "body", "a hook.verify without a hook_id")
            }
            if type.isAppEvent {
                guard let appField else {
                    return refuse(.badRequest, reason: "body", "a \(type) event without hook_id or app_id")
                }
                event.namedAppID = appField
            }
        }
        logShape(type: type.rawValue, payload: payload)
        do {
            let known = hookID == 0 ? true : try await knows(hookID: hookID)
            if !known {
                // Podio may send hook.verify before the create call returns the hook id: accepted
                // while an install is running (bounded), validated once the id is recorded.
                let accepted =
                    type == .verify
                    ? try await mirror.acceptsUnknownVerification(limit: Self.maxUnknownVerifications) : false
                guard accepted else {
                    return refuse(.forbidden, reason: "hook", "hook \(hookID) is not one of the mirror's hooks")
                }
            }
            event.appID = nil
            try await mirror.enqueueHookEvent(event)
        } catch {
            metrics.hookRequestRefused(reason: "database")
            logger.warning("a webhook event could not be queued (503): \(MirrorError(classifying: error).message)")
            return Self.answer(.serviceUnavailable, "try again later")
        }
        metrics.hookEventReceived(type: type.rawValue)
        wake.notify()
        return Self.answer(.ok, "ok")
    }

    /// The field names of the first event of each type (and encoding), once: never a value.
    private func logShape(type: String, payload: HookPayload) {
        let key = type + " " + payload.format
        let first = state.withLock { $0.shapesLogged.insert(key).inserted }
        guard first else { return }
        logger.notice(
            "webhook event shape (logged once): \(type) as \(payload.format), fields: \(Self.names(payload.fields))")
    }

    /// Field names as shown in a log line (printable, short, sorted; never values).
    static func names(_ fields: [String: String]) -> String {
        let shown = fields.keys.sorted().prefix(20).map { name in
            String(name.prefix(40).filter { $0.isASCII && !$0.isNewline && !$0.isWhitespace })
        }
        return shown.isEmpty ? "none" : shown.joined(separator: ", ")
    }

    /// The secret, read once (and again every few seconds until an install made it).
    private func currentSecret() async -> String? {
        let cached = state.withLock { ($0.secret, $0.secretLoadedAt) }
        if let secret = cached.0 { return secret }
        if let at = cached.1, stopwatch.seconds - at < 2 { return nil }
        let secret = try? await mirror.hookSecret()
        let now = stopwatch.seconds
        state.withLock {
            $0.secret = secret ?? nil
            $0.secretLoadedAt = now
        }
        return secret ?? nil
    }

    /// Whether the hook id is recorded: from the cache, else read again (a small table, and the
    /// token bucket bounds how often forged ids can make a request reach the database).
    private func knows(hookID: Int) async throws -> Bool {
        if state.withLock({ $0.hooks[hookID] != nil }) { return true }
        let hooks = try await mirror.hookApps()
        state.withLock { $0.hooks = hooks }
        return hooks[hookID] != nil
    }

    /// The path ends in `/hooks/<secret>`, or that and one slash (Podio may store the URL
    /// normalised); a reverse proxy may keep a prefix of its own. Compared in constant time.
    static func matches(path: String, secret: String) -> Bool {
        let expected = Array((HookURL.prefix + secret).utf8)
        var given = Array(path.utf8)
        if given.last == UInt8(ascii: "/") { given.removeLast() }
        guard given.count >= expected.count else { return false }
        let tail = given[(given.count - expected.count)...]
        var difference: UInt8 = 0
        for (a, b) in zip(tail, expected) { difference |= a ^ b }
        return difference == 0
    }

    static func parseForm(_ text: String) -> [String: String] { HookPayload.parseForm(text) }
}
