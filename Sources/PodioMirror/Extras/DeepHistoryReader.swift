import Foundation
import Logging
import PodioAPI

/// What deep history will cost, said before a run spends anything on it.
public struct DeepHistoryPlan: Sendable, Codable, Equatable {
    /// Items whose revisions or diffs are still to read.
    public var items: Int
    /// General-tier calls they need (a list per item whose revision moved, a call per diff).
    public var calls: Int
    /// General calls free for it now: the quota less the reserve, the window's calls and what
    /// the next run's item syncs need.
    public var freeNow: Int
    /// General calls a whole window leaves it.
    public var perWindow: Int
    public var windowSeconds: Double
    /// Windows after this one that the rest needs (0: this run finishes it).
    public var windowsAfterThis: Int

    enum CodingKeys: String, CodingKey {
        case items, calls, freeNow = "free_now", perWindow = "per_window", windowSeconds = "window_seconds"
        case windowsAfterThis = "windows_after_this"
    }

    /// "deep history: 57 items to read, ~140 general calls; 30 free now, 995 a window (1h): about 1 more window (~1h)".
    public var line: String {
        var text =
            "deep history: \(items) item\(items == 1 ? "" : "s") to read, ~\(calls) general call\(calls == 1 ? "" : "s"); "
        text += "\(freeNow) free now, \(perWindow) a window (\(DurationParser.describe(windowSeconds))): "
        if windowsAfterThis == 0 {
            text += "this run finishes it"
        } else {
            text += "about \(windowsAfterThis) more window\(windowsAfterThis == 1 ? "" : "s") "
            text += "(~\(DurationParser.describe(Double(windowsAfterThis) * windowSeconds)))"
        }
        return text
    }

    /// Windows after this one for `calls`, given what is free now and per window.
    static func windows(calls: Int, freeNow: Int, perWindow: Int) -> Int {
        guard calls > freeNow else { return 0 }
        let rest = calls - freeNow
        let each = max(1, perWindow)
        return (rest + each - 1) / each
    }
}

/// What a run did about deep history (`PODIO_DEEP_HISTORY`).
public struct DeepHistoryRunSummary: Sendable, Codable, Equatable {
    public var plan: DeepHistoryPlan?
    /// Items whose history was brought up to date.
    public var itemsRead = 0
    /// Revisions listed for the first time, and diffs read.
    public var revisionsAdded = 0
    public var diffsRead = 0
    /// General calls spent on it.
    public var calls = 0
    /// Items whose revisions or a diff failed: recorded in `podio.extra_failures`, tried again later.
    public var itemsFailed = 0
    /// Items and calls still to read after the run (the general tier was short).
    public var itemsPending = 0
    public var callsPending = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case plan, itemsRead = "items_read", revisionsAdded = "revisions_added", diffsRead = "diffs_read", calls
        case itemsFailed = "items_failed", itemsPending = "items_pending", callsPending = "calls_pending"
    }
}

/// Reads the deep history of the items of the apps `PODIO_DEEP_HISTORY` covers (their revisions
/// and diffs), last in a run, on the general-tier calls everything else left.
struct DeepHistoryReader {
    let store: MirrorStore
    let ledger: QuotaLedger
    let access: PodioAccess
    let clock: any WallClock
    let logger: Logger
    let observer: SyncObserver?
    /// The apps it covers.
    let setting: DeepHistorySetting
    /// Asked between items: the scheduler is shutting down.
    let stopRequested: (@Sendable () -> Bool)?

    /// Calls an identity has left in the window below what the next run's item syncs need
    /// (`headroom`), in the tier with the fewest: revision reads are general calls where Podio's
    /// headers said so, but a call of a tier not learned yet is booked on both (docs/quota.md).
    /// Zero or less means deep history waits.
    private func generalLeft(identity: String, headroom: Int) async throws -> Int {
        let usage = try await ledger.usage(identity: identity)
        return (usage.map { $0.allowed - $0.used }.min() ?? 0) - headroom
    }

    /// Fills deep history for the apps it covers, last in a run (after the items, comments and
    /// file downloads), so it never delays anything else: every call is made with
    /// `QuotaLedger.neverWait` and leaves free in the general tier what the next run's item
    /// syncs need (`1 + apps`), as comments do. It first reports its plan (the calls needed, what
    /// the quota leaves now and per window, the windows to finish). An item never edited gets its
    /// one revision from its `initial_revision`, without a call. Per item whose revision
    /// moved since its revisions were last listed: `GET /item/{id}/revision/`, then the diff of
    /// every revision not read yet (`GET /item/{id}/revision/{r-1}/{r}`), each written as it
    /// comes, so a stopped run resumes where it stopped.
    /// One run at a time reads it (`LockKeys.deepHistory`); a run that finds another reading
    /// leaves it to that one.
    func syncDeepHistory(apps: [Int]) async -> DeepHistoryRunSummary {
        let covered = apps.filter { setting.covers($0) }
        guard !covered.isEmpty else { return DeepHistoryRunSummary() }
        let store = self.store
        do {
            guard try await store.run({ try $0.history.tryLockDeepHistory() }) else {
                logger.info("deep history is being read by another run")
                return DeepHistoryRunSummary()
            }
        } catch {
            let reason = access.redact(String(describing: error))
            logger.warning("deep history was not read: \(reason); the next run tries again")
            return DeepHistoryRunSummary()
        }
        let summary = await readDeepHistory(apps: apps, covered: covered)
        _ = try? await store.run { try $0.history.unlockDeepHistory() }
        return summary
    }

    private func readDeepHistory(apps: [Int], covered: [Int]) async -> DeepHistoryRunSummary {
        var summary = DeepHistoryRunSummary()
        let store = self.store
        let headroom = 1 + apps.count
        let before = await ledger.snapshot()
        let work: [HistoryStore.RevisionWork]
        do {
            let settled = try await store.run { try $0.history.settleInitialRevisions(apps: covered) }
            summary.itemsRead += settled
            summary.revisionsAdded += settled
            let now = clock.now()
            work = try await store.run { try $0.history.revisionWork(apps: covered, now: now) }
            var identities: [String] = []
            for appID in covered {
                let identity = try access.client(for: appID).identity
                if !identities.contains(identity) { identities.append(identity) }
            }
            var freeNow = 0
            var perWindow = 0
            for identity in identities {
                freeNow += max(0, try await generalLeft(identity: identity, headroom: headroom))
                perWindow += max(0, ledger.policy.allowed(.general) - headroom)
            }
            let calls = work.reduce(0) { $0 + $1.calls }
            let plan = DeepHistoryPlan(
                items: work.count, calls: calls, freeNow: freeNow, perWindow: perWindow,
                windowSeconds: ledger.policy.window,
                windowsAfterThis: DeepHistoryPlan.windows(calls: calls, freeNow: freeNow, perWindow: perWindow))
            summary.plan = plan
            if !work.isEmpty {
                observer?(.deepHistoryPlan(plan))
                logger.info("\(plan.line)")
            }
        } catch {
            logger.warning(
                "deep history was not read: \(access.redact(String(describing: error))); the next run tries again")
            return summary
        }
        var inARow = 0
        reading: for item in work {
            if stopRequested?() == true { break reading }
            do {
                let failure: String
                do {
                    let client = try access.client(for: item.appID)
                    if item.needsList {
                        if try await generalLeft(identity: client.identity, headroom: headroom) <= 0 {
                            logger.info(
                                "deep history waits for the next run: the general quota left is kept for item syncs")
                            break reading
                        }
                        let answer: JSONArrayAnswer
                        do {
                            answer = try await QuotaLedger.$neverWait.withValue(true) {
                                try await client.itemRevisions(itemID: item.itemID)
                            }
                        } catch let error as PodioError where error.isGone {
                            continue  // deleted since its page was read: the next item pass finds it
                        }
                        let body = answer.body
                        summary.revisionsAdded += try await store.run {
                            try $0.history.writeRevisionList(
                                itemID: item.itemID, appID: item.appID, revision: item.revision, body: body)
                        }
                    }
                    let revisions = try await store.run { try $0.history.diffsToRead(itemID: item.itemID) }
                    var complete = true
                    for revision in revisions {
                        if try await generalLeft(identity: client.identity, headroom: headroom) <= 0 {
                            logger.info(
                                "deep history waits for the next run: the general quota left is kept for item syncs")
                            break reading
                        }
                        var body: Data?
                        do {
                            body = try await QuotaLedger.$neverWait.withValue(true) {
                                try await client.itemRevisionDiff(itemID: item.itemID, from: revision - 1, to: revision)
                            }.body
                        } catch let error as PodioError where error.kind == .gone {
                            complete = false  // the item was deleted since: its history stays as read
                            break
                        } catch let error as PodioError where error.kind == .notFound {
                            body = nil  // a revision Podio does not serve: recorded, not asked again
                        }
                        let read = body
                        _ = try await store.run {
                            try $0.history.writeRevisionDiff(itemID: item.itemID, revision: revision, body: read)
                        }
                        summary.diffsRead += 1
                    }
                    if complete { summary.itemsRead += 1 }
                    try await store.run { try $0.failures.clearExtraFailure(.revisions, objectID: item.itemID) }
                    inARow = 0
                    continue
                } catch  where !MirrorError.stopsExtras(error) {
                    failure = access.redact(MirrorError(classifying: error).message)
                }
                let at = clock.now()
                let (attempts, next) = try await store.run {
                    try $0.failures.recordExtraFailure(
                        .revisions, objectID: item.itemID, itemID: item.itemID, appID: item.appID, error: failure,
                        at: at)
                }
                summary.itemsFailed += 1
                logger.warning(
                    "deep history of item \(item.itemID) was not read: \(failure); attempt \(attempts), next try at \(MirrorStatus.format(next))"
                )
                inARow += 1
                if inARow >= ExtraFailure.stopAfterInARow {
                    logger.warning("deep history waits for the next run: \(inARow) items failed in a row")
                    break reading
                }
            } catch let deferral as any RunDeferral {
                logger.info("deep history waits for the next run: \(deferral.description)")
                break reading
            } catch {
                logger.warning(
                    "deep history of item \(item.itemID) was not read: \(access.redact(String(describing: error))); the next run tries again"
                )
                break reading
            }
        }
        summary.calls = await ledger.snapshot().general - before.general
        if let pending = try? await store.run({ try $0.history.revisionPending(apps: covered) }) {
            summary.itemsPending = pending.values.reduce(0) { $0 + $1.items }
            summary.callsPending = pending.values.reduce(0) { $0 + $1.calls }
        }
        return summary
    }
}
