import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A strict fake of the Podio API, served over HTTP/1.1 on loopback, with seeded data,
/// OAuth2, Podio's two rate-limit tiers, injected faults and a control API under `/_sim/`.
public final class PodioSimulator: Sendable {
    let core: SimulatorCore
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// "http://127.0.0.1:PORT", no trailing slash.
    public let baseURL: String
    public let port: Int

    private init(core: SimulatorCore, group: MultiThreadedEventLoopGroup, channel: any Channel, host: String, port: Int)
    {
        self.core = core
        self.group = group
        self.channel = channel
        self.port = port
        baseURL = "http://\(host):\(port)"
    }

    /// Builds the dataset and starts serving.
    public static func start(_ configuration: Configuration) async throws -> PodioSimulator {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let core: SimulatorCore
        do {
            core = try SimulatorCore(config: configuration, group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(HTTPServerHandler(core: core))
                    }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
            guard let port = channel.localAddress?.port else {
                try? await channel.close()
                throw ControlError.invalid("the server has no local port")
            }
            let simulator = PodioSimulator(
                core: core, group: group, channel: channel, host: configuration.host, port: port)
            core.setBaseURL(simulator.baseURL)
            return simulator
        } catch {
            await core.dispatcher.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Stops listening, closes connections and stops the event loops.
    public func shutdown() async throws {
        try? await channel.close()
        await core.dispatcher.shutdown()
        try await group.shutdownGracefully()
    }

    // MARK: - In-process control (the same state as `/_sim/`)

    /// Runs a change under the lock, then sends the webhook deliveries it queued.
    func withState<T>(hook: Bool = true, _ body: (inout SimulatorState) throws(ControlError) -> T) throws(ControlError)
        -> T
    {
        let result: Result<T, ControlError> = core.state.withLock { state in
            let before = state.hooks.suppressing
            state.hooks.suppressing = before || !hook
            defer { state.hooks.suppressing = before }
            do throws(ControlError) {
                return .success(try body(&state))
            } catch {
                return .failure(error)
            }
        }
        core.dispatchHooks()
        return try result.get()
    }

    /// App ids in creation order.
    public func appIDs() -> [Int] {
        core.state.withLock { $0.apps.map(\.id) }
    }

    public func appToken(appID: Int) -> String? {
        core.state.withLock { state in state.appIndex[appID].map { state.apps[$0].token } }
    }

    /// A new item with generated values in every active field; returns its item_id.
    @discardableResult
    public func createItem(appID: Int, title: String? = nil, hook: Bool = true) throws -> Int {
        let now = PodioTime.now()
        return try withState(hook: hook) { state throws(ControlError) in
            try state.createItem(appID: appID, title: title, now: now)
        }
    }

    /// A new item whose `fields` are served exactly as given (a JSON array of field objects).
    public func createItem(appID: Int, rawFields: Data) throws -> Int {
        let now = PodioTime.now()
        let bytes = [UInt8](rawFields)
        return try withState { state throws(ControlError) in
            try state.createItem(appID: appID, rawFields: bytes, now: now)
        }
    }

    /// Changes the title and other values: revision += 1, current_revision.created_on = now.
    public func editItem(itemID: Int, title: String? = nil, hook: Bool = true) throws {
        let now = PodioTime.now()
        try withState(hook: hook) { state throws(ControlError) in
            try state.editItem(itemID: itemID, title: title, now: now)
        }
    }

    /// Edits every item of `itemIDs` in the same second (a bulk edit or an automation).
    public func editItems(_ itemIDs: [Int], title: String? = nil, hook: Bool = true) throws {
        let now = PodioTime.now()
        try withState(hook: hook) { state throws(ControlError) in
            for itemID in itemIDs { try state.editItem(itemID: itemID, title: title, now: now) }
        }
    }

    /// An edit that empties a field (revision += 1).
    public func clearField(itemID: Int, fieldID: Int) throws {
        let now = PodioTime.now()
        try withState { state throws(ControlError) in try state.clearField(itemID: itemID, fieldID: fieldID, now: now) }
    }

    /// Moves an item to another app: same item_id, a new app_item_id there, revision += 1
    /// (docs/simulator.md).
    public func moveItem(itemID: Int, toAppID: Int, hook: Bool = true) throws {
        let now = PodioTime.now()
        try withState(hook: hook) { state throws(ControlError) in
            try state.moveItem(itemID: itemID, toAppID: toAppID, now: now)
        }
    }

    public func deleteItem(itemID: Int, hook: Bool = true) throws {
        try withState(hook: hook) { state throws(ControlError) in try state.deleteItem(itemID: itemID) }
    }

    /// Adds a comment: comment_count += 1 and last_event_on = now, without a new revision.
    /// Returns its comment_id.
    @discardableResult
    public func comment(itemID: Int, text: String? = nil) throws -> Int {
        let now = PodioTime.now()
        return try withState { state throws(ControlError) in try state.addComment(itemID: itemID, text: text, now: now)
        }
    }

    /// Attaches a file to an item: file_count += 1, last_event_on = now, no new revision.
    @discardableResult
    /// `hostedBy` other than "podio" makes a file linked from elsewhere (e.g. "google"): its
    /// `link` is on that service, and `GET /file/{id}/raw` redirects there.
    public func attachFile(
        itemID: Int, name: String, mimetype: String = "application/pdf", size: Int = 1024, hostedBy: String = "podio"
    ) throws -> Int {
        let now = PodioTime.now()
        return try withState { state throws(ControlError) in
            try state.attachFile(
                itemID: itemID, name: name, mimetype: mimetype, size: size, hostedBy: hostedBy, now: now)
        }
    }

    /// The bytes `GET /file/{id}/raw` serves for an attached file (nil when there is none).
    public func fileContent(fileID: Int) -> Data? {
        core.state.withLock { state in state.attachedFile(fileID).map { Data(SimulatorState.fileBytes($0.file)) } }
    }

    /// Removes a file from its item: file_count -= 1, last_event_on = now, no new revision.
    public func removeFile(fileID: Int) throws {
        let now = PodioTime.now()
        try withState { state throws(ControlError) in try state.removeFile(fileID: fileID, now: now) }
    }

    /// Changes a comment's text: last_event_on = now, no new revision.
    public func editComment(commentID: Int, text: String) throws {
        let now = PodioTime.now()
        try withState { state throws(ControlError) in try state.editComment(commentID: commentID, text: text, now: now)
        }
    }

    /// Deletes a comment: comment_count -= 1, last_event_on = now, no new revision.
    public func deleteComment(commentID: Int) throws {
        let now = PodioTime.now()
        try withState { state throws(ControlError) in try state.deleteComment(commentID: commentID, now: now) }
    }

    /// The live comments of an item (id and text), oldest first: the truth for tests.
    public func comments(itemID: Int) -> [(id: Int, text: String)] {
        core.state.withLock { state in
            guard let location = state.locate(itemID), !state.apps[location.app].items[location.item].deleted else {
                return []
            }
            return state.comments(appIdx: location.app, itemIdx: location.item).filter { !$0.deleted }.map {
                ($0.id, $0.text)
            }
        }
    }

    /// An item's revisions as the simulator keeps them, oldest first: each revision's number,
    /// `created_on` (seconds since 1970) and its fields' values as JSON text by external id
    /// (for tests: the truth a mirror's deep history is checked against). Empty for a deleted item.
    public func revisionTruth(itemID: Int) -> [(revision: Int, createdOn: Int, values: [String: String])] {
        core.state.withLock { state in
            guard let location = state.locate(itemID), !state.apps[location.app].items[location.item].deleted else {
                return []
            }
            return state.revisions(appIdx: location.app, itemIdx: location.item).map { revision in
                var values: [String: String] = [:]
                for field in state.fieldsAt(appIdx: location.app, itemIdx: location.item, revision) {
                    guard let key = field["external_id"]?.stringValue else { continue }
                    values[key] = String(decoding: (field["values"] ?? .array([])).bytes, as: UTF8.self)
                }
                return (revision.revision, revision.createdOn, values)
            }
        }
    }

    /// Adds a field (app current_revision += 1); returns its field_id.
    @discardableResult
    public func addField(
        appID: Int, type: String, label: String, externalID: String? = nil,
        settings: [String: String] = [:]
    ) throws -> Int {
        try withState { state throws(ControlError) in
            try state.addField(appID: appID, type: type, label: label, externalID: externalID, settings: settings)
        }
    }

    /// Marks a field deleted: kept in `GET /app`, its values no longer served.
    public func deleteField(appID: Int, fieldID: Int) throws {
        try withState { state throws(ControlError) in try state.deleteField(appID: appID, fieldID: fieldID) }
    }

    public func renameField(appID: Int, fieldID: Int, label: String, externalID: String?) throws {
        try withState { state throws(ControlError) in
            try state.renameField(appID: appID, fieldID: fieldID, label: label, externalID: externalID)
        }
    }

    public func addCategoryOption(appID: Int, fieldID: Int, text: String) throws -> Int {
        try withState { state throws(ControlError) in
            try state.addCategoryOption(appID: appID, fieldID: fieldID, text: text)
        }
    }

    /// Adds an app in the first space; returns its app_id.
    @discardableResult
    public func addApp(_ spec: AppSpec) throws -> Int {
        try withState { state throws(ControlError) in try state.addApp(spec) }
    }

    /// Deletes an app in Podio: listings leave it out; its definition, items and filter answer 410.
    public func deleteApp(appID: Int) throws {
        try withState { state throws(ControlError) in try state.deleteApp(appID: appID) }
    }

    /// The next `count` API calls that can take the fault get it; with `rate`, that fraction
    /// of calls (seeded) until `clearFaults()`. `/_sim/` and `/oauth/` calls never do.
    /// With `path`, only API calls to exactly that path (e.g. `/file/12/raw`) take it: one
    /// object that keeps failing while the others are served.
    public func injectFaults(_ fault: Fault, count: Int = 1, rate: Double? = nil, path: String? = nil) {
        core.state.withLock { $0.faults.add(fault, count: count, rate: rate, path: path) }
    }

    /// Takes Podio's undocumented behaviour the inconvenient way (see `Quirks`); replaces the
    /// quirks set before.
    public func setQuirks(_ quirks: Quirks) {
        core.state.withLock { $0.quirks = quirks }
    }

    public func clearFaults() {
        core.state.withLock { $0.faults.clear() }
    }

    // MARK: - The token endpoint's inconvenient modes (reference §12)

    /// With two-step verification on, the password grant answers 200 with a `server_nonce` and
    /// no access token, as Podio does for such accounts.
    public func setTwoStepVerification(_ on: Bool) {
        core.state.withLock { $0.twoStepVerification = on }
    }

    /// The token endpoint answers every request with Podio's 420 ("Please wait N seconds before
    /// trying again", N the seconds left) for the next `seconds`; 0 lifts the throttle.
    public func throttleTokenEndpoint(seconds: Int) {
        let now = core.monotonicNow()
        core.state.withLock { SimulatorCore.throttleTokenEndpoint(&$0, seconds: seconds, now: now) }
    }

    /// Delays every answer of the token endpoint (to make logins of several processes overlap).
    public func delayTokenEndpoint(milliseconds: Int) {
        core.state.withLock { $0.tokenDelayMilliseconds = max(0, milliseconds) }
    }

    /// Moves the simulator's clock forward as if `seconds` had passed: access tokens, refresh
    /// tokens and codes expire, rate windows roll and the token endpoint's throttle ends
    /// accordingly, so tests need not sleep for them. Times written into items (`created_on`,
    /// `last_edit_on`) keep following the wall clock.
    public func advanceClock(seconds: Double) {
        core.advanceClock(seconds: seconds)
    }

    public func stats() -> Stats {
        core.state.withLock { $0.stats }
    }

    public func resetStats() {
        core.state.withLock { $0.resetStats() }
    }

    /// The JSON of `GET /_sim/truth`.
    public func truth() -> Data {
        Data(core.state.withLock { $0.truthBytes() })
    }
}
