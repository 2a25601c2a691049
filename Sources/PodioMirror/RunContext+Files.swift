import Foundation
import LibPQ
import Logging
import PodioAPI

/// What a run did about file downloads (`PODIO_FILES`).
public struct FileRunSummary: Sendable, Codable, Equatable {
    public var downloaded = 0
    /// Files already present with their size.
    public var present = 0
    /// Attached files not downloaded yet (the general tier was short).
    public var pending = 0

    public init() {}
}

extension RunContext {
    /// Where a file goes: `<dir>/<file_id>-<name>`, the name without path separators.
    static func downloadPath(directory: String, fileID: Int, name: String) -> URL {
        var safe = String(name.map { "/\\:\0".contains($0) || $0.isNewline ? "_" : $0 })
        if safe.isEmpty || safe.hasPrefix(".") { safe = "_" + safe }
        return URL(fileURLWithPath: directory).appendingPathComponent("\(fileID)-\(String(safe.prefix(200)))")
    }

    /// Downloads the attached files of the apps that are not in `directory` with their size yet,
    /// after the items and comments, on the same terms as comments: never waiting for the quota,
    /// leaving what the next run's item syncs need; the rest waits for the next run. A file is
    /// written beside its place and renamed into it, so a stopped run leaves no partial file.
    func downloadFiles(apps: [Int], directory: String) async -> FileRunSummary {
        var summary = FileRunSummary()
        let store = self.store
        let headroom = 1 + apps.count
        var remaining: [(fileID: Int, appID: Int, name: String, size: Int?)] = []
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            remaining = try await store.run { try $0.liveFiles(apps: apps) }
        } catch {
            logger.warning("files were not downloaded: \(access.redact(String(describing: error)))")
            return summary
        }
        var index = 0
        downloading: while index < remaining.count {
            let file = remaining[index]
            let path = Self.downloadPath(directory: directory, fileID: file.fileID, name: file.name)
            let existing = (try? FileManager.default.attributesOfItem(atPath: path.path)[.size] as? NSNumber)?.intValue
            if let existing, file.size == nil || existing == file.size {
                summary.present += 1
                index += 1
                continue
            }
            do {
                if options.stopRequested?() == true { break downloading }
                let client = try access.client(for: file.appID)
                if let general = try await ledger.usage(identity: client.identity).first(where: { $0.tier == .general }
                ),
                    general.allowed - general.used <= headroom
                {
                    logger.info("file downloads wait for the next run: the general quota left is kept for item syncs")
                    break downloading
                }
                let data: Data
                do {
                    data = try await QuotaLedger.$neverWait.withValue(true) {
                        try await client.downloadFile(file.fileID)
                    }
                } catch let error as PodioError where error.kind == .notFound || error.kind == .gone {
                    index += 1  // removed since the item was read: the next read marks it deleted
                    continue
                }
                let part = URL(fileURLWithPath: directory).appendingPathComponent(".\(file.fileID).part")
                try data.write(to: part)
                if FileManager.default.fileExists(atPath: path.path) { try FileManager.default.removeItem(at: path) }
                try FileManager.default.moveItem(at: part, to: path)
                summary.downloaded += 1
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
        summary.pending = remaining.count - index
        return summary
    }
}
