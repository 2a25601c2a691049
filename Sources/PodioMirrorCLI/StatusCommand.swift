import ArgumentParser
import Foundation
import LibPQ
import PodioAPI
import PodioMirror

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per app: items, deleted, last full and delta sync, cursor; quota in the window; recent runs.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print the status as one JSON object.")
    var json = false

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.status")
            let settings = try global.settings()
            let db = try await PGConnection.connect(settings.databaseURL, logger: logger)
            defer { db.close() }
            let policy = settings.quota
            var report = try await db.run { db -> MirrorStatus in
                try SchemaMigrator.requireCurrent(db)
                return try MirrorStatus.load(db, policy: policy)
            }
            // With comments off nothing reads them: nothing is pending.
            if !settings.comments {
                for index in report.apps.indices { report.apps[index].commentsPending = 0 }
            }
            if json {
                try CommandRunner.printJSON(report)
            } else {
                for line in report.lines { CommandRunner.print(line) }
            }
        }
    }
}

/// The text of `status`, one line each.
extension MirrorStatus {
    var lines: [String] {
        var out: [String] = []
        out.append("Apps:")
        if apps.isEmpty { out.append("  (none mirrored yet)") }
        for a in apps {
            out.append(
                "  \(a.appID) \(a.name): \(a.liveItems) items, \(a.deletedItems) deleted; full sync \(Self.format(a.lastFullSync)), delta \(Self.format(a.lastDeltaSync)), cursor \(Self.format(a.highWaterMark))\(a.table.map { "; table podio_apps.\($0)" } ?? "")\(a.commentsPending > 0 ? "; comments of \(a.commentsPending) items pending" : "")")
        }
        out.append("Quota (window \(DurationParser.describe(windowSeconds))):")
        if quota.isEmpty { out.append("  no calls in the current window") }
        for q in quota {
            var line = "  \(q.credential) \(q.tier): \(q.used) of \(q.allowed) used (quota \(q.quota)), \(q.free) free"
            if let next = q.nextFreesAt { line += ", next frees at \(Self.format(next))" }
            if let paused = q.pausedUntil { line += ", paused until \(Self.format(paused))" }
            out.append(line)
        }
        out.append("Recent runs:")
        if runs.isEmpty { out.append("  none") }
        for r in runs {
            var line = "  #\(r.runID) \(r.kind) \(r.status) at \(Self.format(r.startedAt)): \(r.calls) calls, \(r.itemsWritten) written, \(r.itemsDeleted) deleted"
            if let until = r.deferredUntil { line += ", quota frees at \(Self.format(until))" }
            if let error = r.error { line += " — \(error)" }
            out.append(line)
        }
        if !hints.isEmpty {
            out.append("Needs attention:")
            out += hints.map { "  - \($0)" }
        }
        return out
    }
}
