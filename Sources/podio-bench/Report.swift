import Foundation

/// Every figure of one bench run: printed as a table and written as JSON.
struct Report: Codable, Sendable {
    struct Machine: Codable, Sendable {
        var cpu: String
        var cores: Int
        var memoryGiB: Double

        static func current() -> Machine {
            let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            let model =
                info.split(separator: "\n").first { $0.hasPrefix("model name") }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
            return Machine(
                cpu: model, cores: ProcessInfo.processInfo.activeProcessorCount,
                memoryGiB: (Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824 * 10).rounded() / 10)
        }
    }

    struct Baseline: Codable, Sendable {
        var items: Int
        var averageItemBytes: Int
        /// Reading the pages from the simulator over HTTP (its first, cold read).
        var fetchSeconds: Double
        /// COPY of the items, already in memory, into one jsonb column.
        var copySeconds: Double
        /// `default_toast_compression` of the COPY session.
        var compression: String

        enum CodingKeys: String, CodingKey {
            case items, averageItemBytes = "average_item_bytes", fetchSeconds = "fetch_seconds", copySeconds =
                "copy_seconds"
            case compression
        }
    }

    struct MemoryPoint: Codable, Sendable {
        var items: Int
        var peakRSSMiB: Double

        enum CodingKeys: String, CodingKey { case items, peakRSSMiB = "peak_rss_mib" }
    }

    struct Derived: Codable, Sendable {
        var ingestItemsPerSecond: Double
        var copyItemsPerSecond: Double
        var ingestToCopyRatio: Double
        var fullSyncCallLowerBound: Int
        var memoryRatio: Double?
        var targetIngestHalfOfCopy: Bool
        /// Issue 25's target for the typical app: at least 0.6 of the COPY.
        var targetIngest0_6OfCopy: Bool
        var targetCallsAtLowerBound: Bool
        var targetUnchangedDeltaOneCall: Bool
        var targetMemoryUnder1_5x: Bool?

        enum CodingKeys: String, CodingKey {
            case ingestItemsPerSecond = "ingest_items_per_second", copyItemsPerSecond = "copy_items_per_second"
            case ingestToCopyRatio = "ingest_to_copy_ratio", fullSyncCallLowerBound = "full_sync_call_lower_bound"
            case memoryRatio = "memory_ratio", targetIngestHalfOfCopy = "target_ingest_at_least_half_of_copy"
            case targetIngest0_6OfCopy = "target_ingest_at_least_0_6_of_copy"
            case targetCallsAtLowerBound = "target_full_sync_calls_at_lower_bound"
            case targetUnchangedDeltaOneCall = "target_unchanged_delta_one_call"
            case targetMemoryUnder1_5x = "target_memory_10x_under_1_5x"
        }
    }

    /// The cost of the changed delta, per changed item and against the unchanged delta.
    struct ChangedDeltaCost: Codable, Sendable {
        /// PostgreSQL writes of the changed delta (its summary's `write_seconds`) per item written.
        var writeMsPerChangedItem: Double?
        /// The same for the full sync, per item written, for comparison.
        var fullSyncWriteMsPerItem: Double?
        /// Wall time of the changed delta less that of the unchanged delta, per edited item.
        var extraWallMsPerChangedItem: Double
        /// Wall time of the changed delta / wall time of the unchanged delta.
        var changedToUnchangedRatio: Double

        enum CodingKeys: String, CodingKey {
            case writeMsPerChangedItem = "write_ms_per_changed_item", fullSyncWriteMsPerItem =
                "full_sync_write_ms_per_item"
            case extraWallMsPerChangedItem = "extra_wall_ms_per_changed_item", changedToUnchangedRatio =
                "changed_to_unchanged_ratio"
        }
    }

    /// The columns the reader queries use (nil: the relation has none of that kind; query skipped).
    struct ReaderColumns: Codable, Sendable {
        var category: String?
        var number: String?
        var date: String?
        var lastField: String?
        var array: String?

        enum CodingKeys: String, CodingKey { case category, number, date, lastField = "last_field", array }
    }

    /// One reader query, best of 3 on each side (server-side times from EXPLAIN ANALYZE).
    struct ReaderQuery: Codable, Sendable {
        var name: String
        /// As run on the mirror (the copy's is the same with `bench_copy`).
        var sql: String
        var mirrorMs: Double
        var copyMs: Double
        var mirrorPlanningMs: Double
        var copyPlanningMs: Double
        /// Rows of the top plan node (the query's result rows).
        var mirrorRows: Int
        var copyRows: Int
        /// mirrorMs / copyMs (execution times).
        var ratio: Double
        var targetMet: Bool

        enum CodingKeys: String, CodingKey {
            case name, sql, mirrorMs = "mirror_execution_ms", copyMs = "copy_execution_ms"
            case mirrorPlanningMs = "mirror_planning_ms", copyPlanningMs = "copy_planning_ms"
            case mirrorRows = "mirror_rows", copyRows = "copy_rows", ratio, targetMet = "target_ratio_at_most_1_2"
        }
    }

    struct Reader: Codable, Sendable {
        /// The app's relation in the mirror: podio_apps.<table> or podio_views.<view>.
        var relation: String
        var rows: Int
        /// Time of `CREATE TABLE bench_copy AS SELECT * FROM <relation>`.
        var copySeconds: Double
        var columns: ReaderColumns
        var queries: [ReaderQuery]

        enum CodingKeys: String, CodingKey {
            case relation, rows, copySeconds = "create_copy_seconds", columns, queries
        }
    }

    /// A full sync of an app with many fields, against a COPY of the same items' JSON.
    struct Wide: Codable, Sendable {
        var fields: Int
        var items: Int
        var baseline: Baseline
        var fullSync: SyncRun
        var ingestItemsPerSecond: Double
        var copyItemsPerSecond: Double
        var ingestToCopyRatio: Double
        /// At least `target` of the COPY (issue 25).
        var targetMet: Bool

        /// Issue 25's target for the wide app.
        static let target = 0.5

        enum CodingKeys: String, CodingKey {
            case fields, items, baseline, fullSync = "full_sync", ingestItemsPerSecond = "ingest_items_per_second"
            case copyItemsPerSecond = "copy_items_per_second", ingestToCopyRatio = "ingest_to_copy_ratio"
            case targetMet = "target_ingest_at_least_0_5_of_copy"
        }

        init(fields: Int, items: Int, baseline: Baseline, fullSync: SyncRun) {
            self.fields = fields
            self.items = items
            self.baseline = baseline
            self.fullSync = fullSync
            ingestItemsPerSecond = Double(items) / fullSync.wallSeconds
            copyItemsPerSecond = Double(baseline.items) / baseline.copySeconds
            ingestToCopyRatio = ingestItemsPerSecond / copyItemsPerSecond
            targetMet = ingestToCopyRatio >= Self.target
        }
    }

    /// Issue 25's target for the typical app: ingest at least this share of the COPY's items/s.
    static let ingestTarget = 0.6

    var items: Int
    var changePercent: Double
    var machine: Machine
    var baseline: Baseline?
    var fullSync: SyncRun?
    var unchangedDelta: SyncRun?
    var itemsEdited = 0
    var changedDelta: SyncRun?
    var changedDeltaCost: ChangedDeltaCost?
    var reader: Reader?
    var wide: Wide?
    var memory: [MemoryPoint] = []
    var derived: Derived?

    enum CodingKeys: String, CodingKey {
        case items, changePercent = "change_percent", machine, baseline, fullSync = "full_sync"
        case unchangedDelta = "unchanged_delta", itemsEdited = "items_edited", changedDelta = "changed_delta"
        case changedDeltaCost = "changed_delta_cost", reader, wide, memory, derived
    }

    init(items: Int, changePercent: Double, machine: Machine) {
        self.items = items
        self.changePercent = changePercent
        self.machine = machine
    }

    mutating func finish() {
        if let changed = changedDelta, let unchanged = unchangedDelta, itemsEdited > 0 {
            changedDeltaCost = ChangedDeltaCost(
                writeMsPerChangedItem: changed.itemsWritten > 0
                    ? changed.writeSeconds * 1000 / Double(changed.itemsWritten) : nil,
                fullSyncWriteMsPerItem: fullSync.flatMap {
                    $0.itemsWritten > 0 ? $0.writeSeconds * 1000 / Double($0.itemsWritten) : nil
                },
                extraWallMsPerChangedItem: (changed.wallSeconds - unchanged.wallSeconds) * 1000 / Double(itemsEdited),
                changedToUnchangedRatio: changed.wallSeconds / unchanged.wallSeconds)
        }
        guard let full = fullSync, let baseline, let unchangedDelta else { return }
        let ingest = Double(items) / full.wallSeconds
        let copy = Double(baseline.items) / baseline.copySeconds
        let bound = 1 + (items + 499) / 500
        var ratio: Double?
        if memory.count == 2, memory[0].peakRSSMiB > 0 { ratio = memory[1].peakRSSMiB / memory[0].peakRSSMiB }
        derived = Derived(
            ingestItemsPerSecond: ingest, copyItemsPerSecond: copy, ingestToCopyRatio: ingest / copy,
            fullSyncCallLowerBound: bound, memoryRatio: ratio, targetIngestHalfOfCopy: ingest >= copy / 2,
            targetIngest0_6OfCopy: ingest >= copy * Self.ingestTarget,
            targetCallsAtLowerBound: full.callsServed == bound,
            targetUnchangedDeltaOneCall: unchangedDelta.callsServed == 1,
            targetMemoryUnder1_5x: ratio.map { $0 < 1.5 })
    }

    // MARK: - The table

    func table() -> String {
        var rows: [(String, String)] = []
        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        func mark(_ ok: Bool?) -> String { ok.map { $0 ? "met" : "NOT met" } ?? "n/a" }
        rows.append(("machine", "\(machine.cores) cores, \(f(machine.memoryGiB)) GiB, \(machine.cpu)"))
        if let b = baseline {
            rows.append(("items (every field type)", "\(items), \(b.averageItemBytes) bytes of JSON each on average"))
            rows.append(
                (
                    "baseline: fetch pages (HTTP)",
                    "\(f(b.fetchSeconds, 2)) s, \(f(Double(b.items) / b.fetchSeconds, 0)) items/s"
                ))
            rows.append(
                (
                    "baseline: COPY into jsonb (\(b.compression))",
                    "\(f(b.copySeconds, 2)) s, \(f(Double(b.items) / b.copySeconds, 0)) items/s"
                ))
        }
        if let s = fullSync {
            rows.append(
                ("full sync", "\(f(s.wallSeconds, 2)) s, \(f(Double(items) / s.wallSeconds, 0)) items/s end to end"))
            let other = max(0, s.runSeconds - s.httpSeconds - s.decodeSeconds - s.writeSeconds)
            rows.append(
                (
                    "  split of the run's \(f(s.runSeconds, 2)) s",
                    "HTTP wait \(f(s.httpSeconds, 2)) s, decode \(f(s.decodeSeconds, 2)) s, PostgreSQL writes \(f(s.writeSeconds, 2)) s, other \(f(other, 2)) s"
                ))
            rows.append(("  items written", "\(s.itemsWritten)"))
            rows.append(("  API calls (served / ledger)", "\(s.callsServed) / \(s.callsLedger)"))
            rows.append(("  peak RSS", "\(f(s.peakRSSMiB)) MiB"))
        }
        if let s = unchangedDelta {
            rows.append(
                (
                    "unchanged delta",
                    "\(s.callsServed) call\(s.callsServed == 1 ? "" : "s"), \(f(s.wallSeconds, 2)) s, \(s.itemsWritten) written"
                ))
        }
        if let s = changedDelta {
            rows.append(
                (
                    "changed delta (\(itemsEdited) edited, \(f(changePercent, 1)) %)",
                    "\(s.callsServed) call\(s.callsServed == 1 ? "" : "s"), \(s.itemsWritten) written, \(f(s.wallSeconds, 2)) s"
                ))
        }
        if let c = changedDeltaCost {
            let write = c.writeMsPerChangedItem.map { "\(f($0, 2)) ms of PostgreSQL writes" } ?? "no item written"
            let full = c.fullSyncWriteMsPerItem.map { " (full sync: \(f($0, 2)) ms/item)" } ?? ""
            rows.append(
                (
                    "  per changed item",
                    "\(write)\(full); \(f(c.extraWallMsPerChangedItem, 2)) ms end to end over the unchanged delta"
                ))
            rows.append(("  changed / unchanged delta", "\(f(c.changedToUnchangedRatio, 2))× (wall time)"))
        }
        for point in memory {
            rows.append(("peak RSS of sync at \(point.items) items", "\(f(point.peakRSSMiB)) MiB"))
        }
        if let d = derived {
            rows.append(
                (
                    "ingest / COPY",
                    "\(f(d.ingestToCopyRatio, 2)) (target ≥ \(f(Self.ingestTarget, 2)): \(mark(d.targetIngest0_6OfCopy)))"
                ))
            rows.append(
                (
                    "full-sync calls vs lower bound",
                    "\(fullSync?.callsServed ?? 0) vs \(d.fullSyncCallLowerBound) = 1 + ceil(\(items)/500) (\(mark(d.targetCallsAtLowerBound)))"
                ))
            rows.append(("unchanged delta = 1 call", mark(d.targetUnchangedDeltaOneCall)))
            if let r = d.memoryRatio, memory.count == 2 {
                rows.append(
                    (
                        "peak RSS \(memory[1].items) / \(memory[0].items) items",
                        "\(f(r, 2))× (target < 1.5×: \(mark(d.targetMemoryUnder1_5x)))"
                    ))
            }
        }
        if let r = reader {
            rows.append(
                ("reader: \(r.relation)", "\(r.rows) rows; plain copy by CREATE TABLE AS in \(f(r.copySeconds, 2)) s"))
            let c = r.columns
            rows.append(
                (
                    "  columns used",
                    "category \(c.category ?? "-"), number \(c.number ?? "-"), date \(c.date ?? "-"), last field \(c.lastField ?? "-"), array \(c.array ?? "-")"
                ))
            for q in r.queries {
                let differ = q.mirrorRows == q.copyRows ? "" : " (copy: \(q.copyRows) rows: RESULTS DIFFER)"
                rows.append(
                    (
                        "  \(q.name)",
                        "mirror \(f(q.mirrorMs, 2)) ms, copy \(f(q.copyMs, 2)) ms = \(f(q.ratio, 2)) (target ≤ \(f(ReaderSection.target, 1)): \(mark(q.targetMet))); "
                            + "\(q.mirrorRows) row\(q.mirrorRows == 1 ? "" : "s")\(differ); planning mirror / copy \(f(q.mirrorPlanningMs, 2)) / \(f(q.copyPlanningMs, 2)) ms"
                    ))
            }
        }
        if let w = wide {
            rows.append(
                (
                    "wide app (\(w.fields) fields)",
                    "\(w.items) items, \(w.baseline.averageItemBytes) bytes of JSON each on average"
                ))
            rows.append(
                (
                    "  baseline: COPY into jsonb (\(w.baseline.compression))",
                    "\(f(w.baseline.copySeconds, 2)) s, \(f(w.copyItemsPerSecond, 0)) items/s"
                ))
            let s = w.fullSync
            rows.append(
                (
                    "  full sync",
                    "\(f(s.wallSeconds, 2)) s, \(f(w.ingestItemsPerSecond, 0)) items/s end to end; PostgreSQL writes \(f(s.writeSeconds, 2)) s, \(s.itemsWritten) written, \(s.callsServed) calls"
                ))
            rows.append(
                (
                    "  ingest / COPY",
                    "\(f(w.ingestToCopyRatio, 2)) (target ≥ \(f(Wide.target, 2)): \(mark(w.targetMet)))"
                ))
        }
        let width = rows.map { $0.0.count }.max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(
            separator: "\n")
    }
}
