import ArgumentParser
import Foundation
import PodioAPI
import PodioMirror

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per app: items, deleted, last full and delta sync, cursor; quota in the window; recent runs.",
        discussion: SettingCatalog.help(for: SettingCatalog.Command.status))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var quota: QuotaOptions
    @OptionGroup var options: StatusOptions

    @Flag(name: .long, help: "Print the status as one JSON object.")
    var json = false

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.status")
            let settings = try global.settings(quota, options)
            var report = try await CommandEnvironment.mirror(settings, logger: logger).status()
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
extension MirrorStatus.App {
    /// "complete up to …, 3m 12s ago", flagged when behind or gone.
    var freshness: String {
        var text: String
        if let upTo = completeUpTo {
            text = "complete up to \(MirrorStatus.format(upTo))"
            if let lag = lagSeconds { text += ", \(DurationParser.approximate(lag)) behind now" }
        } else if let lag = lagSeconds {
            text = "never complete yet (first chosen \(DurationParser.approximate(lag)) ago)"
        } else {
            text = "never complete yet"
        }
        if let offset = fullLoadInProgressAt { text += "; full load at item \(offset)" }
        if behind { text += " — BEHIND SCHEDULE" }
        if let gone {
            text +=
                " — GONE: Podio answered \(gone.status.map(String.init) ?? "an error"); skipped until \(MirrorStatus.format(retryAfter))"
        }
        return text
    }
}

extension MirrorStatus {
    var lines: [String] {
        var out: [String] = []
        out.append("Apps:")
        if apps.isEmpty { out.append("  (none mirrored yet)") }
        for a in apps {
            var line = "  \(a.appID) \(a.name): "
            if a.mirrored {
                line +=
                    "\(a.liveItems) items, \(a.deletedItems) deleted; full sync \(Self.format(a.lastFullSync)), delta \(Self.format(a.lastDeltaSync)), cursor \(Self.format(a.highWaterMark))\(a.table.map { "; table podio_apps.\($0)" } ?? "")"
                if a.commentsPending > 0 { line += "; comments of \(a.commentsPending) items pending" }
                if let items = a.deepHistoryPending, items > 0 {
                    let calls = a.deepHistoryCallsPending ?? 0
                    line += "; deep history of \(items) items pending (~\(calls) general calls)"
                } else if a.deepHistoryPending != nil {
                    line += "; deep history complete"
                }
            } else {
                line += "not synced yet"
            }
            out.append(line)
            out.append("    " + a.freshness)
            if a.hooksActive + a.hooksInactive > 0 || a.missedByHooks > 0 {
                var hooks = "    hooks: \(a.hooksActive) active"
                if a.hooksInactive > 0 {
                    hooks += ", \(a.hooksInactive) NOT ACTIVE (reconciliation asks Podio to verify them again)"
                }
                hooks += "; last event \(Self.format(a.lastHookEventAt)); missed by hooks \(a.missedByHooks)"
                if let at = a.lastMissedAt, a.missedByHooks > 0 { hooks += " (last found \(Self.format(at)))" }
                if let lag = a.reconciliationLagSeconds {
                    hooks += "; reconciled \(DurationParser.approximate(lag)) ago"
                }
                out.append(hooks)
            }
        }
        if hookEventsPending > 0 { out.append("  hook events waiting to be applied: \(hookEventsPending)") }
        if !extraFailures.isEmpty {
            out.append("Not read (comments, files, deep history):")
            for f in extraFailures.prefix(50) {
                var line = "  \(f.subject) (app \(f.appID)): "
                if let next = f.nextTryAt {
                    line +=
                        "failed \(f.attempts) time\(f.attempts == 1 ? "" : "s") since \(Self.format(f.firstFailedAt)), next try at \(Self.format(next))"
                } else {
                    line += "not fetched"
                }
                out.append(line + " — \(f.lastError)")
            }
            if extraFailures.count > 50 {
                out.append("  … and \(extraFailures.count - 50) more (`status --json` lists all)")
            }
        }
        out.append("Schedule:")
        if let schedule = scheduleDescription {
            out.append("  \(schedule)")
        } else {
            out.append("  unknown: no `run` worker seen lately and fewer than 3 sync runs (apps are not judged behind)")
        }
        if let budget {
            var line =
                "  \(budget.apps) app\(budget.apps == 1 ? "" : "s") need ~\(budget.callsPerHourNeeded) rate-limited calls an hour"
            if budget.appListCallsPerHour > 0 { line += " (\(budget.appListCallsPerHour) for the app list)" }
            line += "; the quota allows \(budget.callsPerHourAllowed)" + (budget.covered ? "" : " — NOT ENOUGH")
            if budget.pendingFullLoadCalls > 0 {
                line += "; full loads still need ~\(budget.pendingFullLoadCalls) calls"
            }
            out.append(line)
        }
        out.append(
            "  app list: "
                + (appListRefreshedAt.map { "asked of Podio at \(Self.format($0))" }
                    ?? "not cached (PODIO_APPS, or never listed)"))
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
            var line =
                "  #\(r.runID) \(r.kind) \(r.status) at \(Self.format(r.startedAt)): \(r.calls) calls, \(r.itemsWritten) written, \(r.itemsDeleted) deleted"
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
