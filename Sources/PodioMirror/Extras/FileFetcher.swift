import Foundation
import Logging
import PodioAPI

/// What a run did about file downloads (`PODIO_FILES`).
public struct FileRunSummary: Sendable, Codable, Equatable {
    public var downloaded = 0
    /// Files already present with their size.
    public var present = 0
    /// Downloads that failed: recorded in `podio.extra_failures`, tried again later.
    public var failed = 0
    /// Files hosted elsewhere than Podio found in this run: recorded, not fetched.
    public var external = 0
    /// Attached files not downloaded yet (a tier had no more free than the item syncs need).
    public var pending = 0

    public init() {}
}

/// Downloads the attached files of the mirrored items into `PODIO_FILES`, after the items and
/// comments, on the quota the item syncs leave.
struct FileFetcher {
    let store: MirrorStore
    let ledger: QuotaLedger
    let access: PodioAccess
    let clock: any WallClock
    let logger: Logger
    /// Where files go (`PODIO_FILES`).
    let directory: String
    /// Asked between files: the scheduler is shutting down.
    let stopRequested: (@Sendable () -> Bool)?

    /// Where a file goes: `<dir>/<file_id>-<name>`, the name without path separators.
    static func downloadPath(directory: String, fileID: Int, name: String) -> URL {
        var safe = String(name.map { "/\\:\0".contains($0) || $0.isNewline ? "_" : $0 })
        if safe.isEmpty || safe.hasPrefix(".") { safe = "_" + safe }
        return URL(fileURLWithPath: directory).appendingPathComponent("\(fileID)-\(String(safe.prefix(200)))")
    }

    /// Why a file is not Podio's to serve (nil: it is): `hosted_by` other than `podio` (a file
    /// linked from Google Drive, Dropbox, …), or a `link` off Podio's hosts. Such a file is
    /// recorded, never fetched: `GET /file/{id}/raw` would at best redirect off Podio.
    static func hostedElsewhere(hostedBy: String?, link: String?) -> String? {
        if let hostedBy, !hostedBy.isEmpty, hostedBy.lowercased() != "podio" {
            return "hosted by \(hostedBy), not by Podio: not downloaded"
        }
        if let link, let host = URL(string: link)?.host?.lowercased(), host != "podio.com",
            !host.hasSuffix(".podio.com")
        {
            return "its link is on \(host), not on Podio: not downloaded"
        }
        return nil
    }

    /// Downloads the attached files of the apps that are not in `directory` with their size yet,
    /// after the items and comments, on the same terms as comments: never waiting for the quota,
    /// leaving in each tier what the next run's item syncs need (a download is booked on both
    /// tiers: Podio's answer to it names none); the rest waits for the next run. A file is
    /// written beside its place and renamed into it, so a stopped run leaves no partial file.
    /// A file hosted elsewhere than Podio is recorded in `podio.extra_failures` and not fetched.
    /// A download that fails (a 5xx, a 403, a redirect: the client follows none) is recorded
    /// there with a back-off and the downloads go on with the next file; quota deferrals and a
    /// lost database stop them for the run, as do `extraFailuresInARow` failures in a row.
    func downloadFiles(apps: [Int]) async -> FileRunSummary {
        var summary = FileRunSummary()
        let store = self.store
        let headroom = 1 + apps.count
        var remaining: [FileStore.FileToDownload] = []
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let now = clock.now()
            remaining = try await store.run { try $0.files.liveFiles(apps: apps, now: now) }
        } catch {
            logger.warning("files were not downloaded: \(access.redact(String(describing: error)))")
            return summary
        }
        var index = 0
        var inARow = 0
        downloading: while index < remaining.count {
            let file = remaining[index]
            do {
                if let reason = Self.hostedElsewhere(hostedBy: file.hostedBy, link: file.link) {
                    let at = clock.now()
                    try await store.run {
                        try $0.failures.recordExtraSkipped(
                            .file, objectID: file.fileID, itemID: file.itemID, appID: file.appID, reason: reason, at: at
                        )
                    }
                    summary.external += 1
                    index += 1
                    continue
                }
                let path = Self.downloadPath(directory: directory, fileID: file.fileID, name: file.name)
                let existing = (try? FileManager.default.attributesOfItem(atPath: path.path)[.size] as? NSNumber)?
                    .intValue
                if let existing, file.size == nil || existing == file.size {
                    summary.present += 1
                    index += 1
                    continue
                }
                if stopRequested?() == true { break downloading }
                let client = try access.client(for: file.appID)
                // A download's answer carries no rate-limit header, so the ledger never learns its
                // tier and books it on both (docs/quota.md): it must leave each tier what the next
                // run's item syncs need, the rate-limited one above all.
                if let short = try await ledger.tierKeptForSyncs(identity: client.identity, headroom: headroom) {
                    logger.info(
                        "file downloads wait for the next run: the \(short.rawValue) quota left is kept for item syncs")
                    break downloading
                }
                do {
                    let data: Data
                    do {
                        data = try await QuotaLedger.$neverWait.withValue(true) {
                            try await client.downloadFile(file.fileID)
                        }
                    } catch let error as PodioError where error.isGone {
                        // Removed since the item was read: the next read marks it deleted.
                        try await store.run { try $0.failures.clearExtraFailure(.file, objectID: file.fileID) }
                        index += 1
                        continue
                    }
                    let part = URL(fileURLWithPath: directory).appendingPathComponent(".\(file.fileID).part")
                    try data.write(to: part)
                    if FileManager.default.fileExists(atPath: path.path) {
                        try FileManager.default.removeItem(at: path)
                    }
                    try FileManager.default.moveItem(at: part, to: path)
                    try await store.run { try $0.failures.clearExtraFailure(.file, objectID: file.fileID) }
                    summary.downloaded += 1
                    inARow = 0
                } catch  where !MirrorError.stopsExtras(error) {
                    let message = access.redact(MirrorError(classifying: error).message)
                    let at = clock.now()
                    let (attempts, next) = try await store.run {
                        try $0.failures.recordExtraFailure(
                            .file, objectID: file.fileID, itemID: file.itemID, appID: file.appID, error: message, at: at
                        )
                    }
                    summary.failed += 1
                    logger.warning(
                        "file \(file.fileID) was not downloaded: \(message); attempt \(attempts), next try at \(MirrorStatus.format(next))"
                    )
                    inARow += 1
                    if inARow >= ExtraFailure.stopAfterInARow {
                        index += 1
                        logger.warning("file downloads wait for the next run: \(inARow) downloads failed in a row")
                        break downloading
                    }
                }
                index += 1
            } catch let deferral as any RunDeferral {
                logger.info("file downloads wait for the next run: \(deferral.description)")
                break downloading
            } catch {
                logger.warning(
                    "file \(file.fileID) was not downloaded: \(access.redact(String(describing: error))); the next run tries again"
                )
                break downloading
            }
        }
        summary.pending =
            remaining[index...].filter {
                Self.hostedElsewhere(hostedBy: $0.hostedBy, link: $0.link) == nil
            }.count
        return summary
    }
}
