import Foundation

/// The figures of `podio-bench freshness`, in real time (wall seconds × the time scale).
struct FreshnessReport: Codable, Sendable {
    var apps: Int
    var itemsPerApp: Int
    /// The scaled rate window, in wall seconds (3600 real seconds).
    var windowSeconds: Double
    /// Real seconds per wall second.
    var scale: Double
    var everyRealSeconds: Double
    var changesPerHour: Double
    var streamHours: Double
    var pollMilliseconds: Int
    var modes: [Mode] = []

    struct Mode: Codable, Sendable {
        var name: String
        /// Whether the mode ran (hooks need the engine's webhooks).
        var available: Bool
        var note: String?
        var changes: [String: Int] = [:]
        /// Changes the mirror showed before the end (drain included).
        var seen: Int = 0
        /// Changes it never showed.
        var unseen: Int = 0
        var medianSeconds: Double?
        var p95Seconds: Double?
        var maxSeconds: Double?
        var medianByKind: [String: Double] = [:]
        /// At the end, against the simulator's truth: live items without a row, rows of deleted
        /// items, rows whose revision differs.
        var missing: Int = 0
        var extra: Int = 0
        var different: Int = 0
        var rateLimitErrors: Int = 0
        var callsByTier: [String: Int] = [:]
        var maxCallsInWindow: [String: Int] = [:]
        var hooksDelivered: Int?
        var hooksDropped: Int?
        var hooksFailed: Int?
        var engineExitStatus: Int32?
        var wallSeconds: Double = 0
        /// The simulator's served calls by what they were for (PodioSimulator.Stats.callsByPurpose).
        var callsByPurpose: [String: Int] = [:]
        /// How the engine's turns fell, from its records.
        var turns: FreshnessTurns?
        /// What the quota allows on this workload, and the measured figures against it.
        var bound: FreshnessBound?
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    static func minutes(_ seconds: Double?) -> String {
        guard let seconds else { return "-" }
        return String(format: "%.1f min", seconds / 60)
    }

    static func ratio(_ value: Double?) -> String {
        value.map { String(format: "%.2f×", $0) } ?? "-"
    }

    static func number(_ value: Double?) -> String {
        value.map { String(format: "%.2f", $0) } ?? "-"
    }

    /// The bound, the calls by purpose and the turns of a mode, indented under its line.
    static func boundLines(_ mode: Mode) -> [String] {
        var lines: [String] = []
        if let bound = mode.bound {
            var text =
                "  quota bound: \(bound.usableRateLimitedCalls) usable calls/window, cycle \(minutes(bound.cycleSeconds)) at 1 call/turn"
            if let median = bound.medianBoundSeconds {
                text += "; median bound \(minutes(median)), measured/bound \(ratio(bound.medianRatio))"
            }
            if let p95 = bound.p95BoundSeconds {
                text += "; p95 bound \(minutes(p95)), measured/bound \(ratio(bound.p95Ratio))"
            }
            text += "; p95/cycle \(ratio(bound.p95ToCycle))"
            lines.append(text)
            if let cycle = bound.cycleAtMeasuredCostSeconds {
                lines.append(
                    "  at the measured calls per turn: cycle \(minutes(cycle)), median bound \(minutes(bound.medianBoundAtMeasuredCostSeconds))"
                )
            }
        }
        if !mode.callsByPurpose.isEmpty {
            let purposes = mode.callsByPurpose.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            lines.append("  calls by purpose: \(purposes)")
        }
        if let turns = mode.turns {
            let perTurn = turns.rateLimitedCallsPerTurn.keys.sorted().map {
                "\($0) \(number(turns.rateLimitedCallsPerTurn[$0]))"
            }.joined(separator: ", ")
            let passes = turns.passesByModeStatus.keys.sorted().map { "\($0) \(turns.passesByModeStatus[$0] ?? 0)" }
                .joined(separator: ", ")
            lines.append(
                "  turns: \(turns.passes) passes (\(passes)) in \(minutes(turns.periodSeconds)), \(number(turns.turnsPerAppHour)) per app-hour; rate-limited calls per turn \(number(turns.rateLimitedCallsPerTurnAll)) (\(perTurn))"
            )
            lines.append(
                "  gap between an app's turns: p50 \(minutes(turns.gapP50Seconds)), p95 \(minutes(turns.gapP95Seconds)), max \(minutes(turns.gapMaxSeconds)); runs \(turns.runs), deferred \(turns.deferredRuns); rate-limited calls \(turns.rateLimitedCallsInRuns) in runs, \(turns.rateLimitedCallsInPasses) in passes"
            )
            let slices = turns.callsPerSlice.map(String.init).joined(separator: " ")
            let idle = turns.callsPerSlice.filter { $0 == 0 }.count
            lines.append(
                "  rate-limited calls per \(minutes(turns.sliceSeconds)) (a tenth of the window), by pass start: \(slices) (\(idle) of \(turns.callsPerSlice.count) idle)"
            )
        }
        return lines
    }

    func table() -> String {
        var lines: [String] = []
        lines.append(
            "Freshness: \(apps) apps × \(itemsPerApp) items, quota 250 rate-limited + 1000 general per window,")
        lines.append(
            String(
                format:
                    "window 3600 s scaled to %.0f s (×%.0f); run --every %.0f s; %.0f changes/h for %.1f h; figures in real time",
                windowSeconds, scale, everyRealSeconds, changesPerHour, streamHours))
        lines.append("")
        let header = ["mode", "changes", "seen", "median", "p95", "max", "missing", "extra", "different", "420s"]
        lines.append(header.joined(separator: " | "))
        for mode in modes {
            guard mode.available else {
                lines.append("\(mode.name) | \(mode.note ?? "not run")")
                continue
            }
            let total = mode.changes.values.reduce(0, +)
            lines.append(
                [
                    mode.name, String(total), "\(mode.seen) (\(mode.unseen) unseen)", Self.minutes(mode.medianSeconds),
                    Self.minutes(mode.p95Seconds), Self.minutes(mode.maxSeconds), String(mode.missing),
                    String(mode.extra),
                    String(mode.different), String(mode.rateLimitErrors),
                ].joined(separator: " | "))
            let kinds = mode.medianByKind.keys.sorted().map { "\($0) \(Self.minutes(mode.medianByKind[$0]))" }.joined(
                separator: ", ")
            lines.append(
                "  median by kind: \(kinds); calls \(mode.callsByTier), most in a window \(mode.maxCallsInWindow)")
            lines += Self.boundLines(mode)
            if let delivered = mode.hooksDelivered {
                lines.append(
                    "  hook deliveries: \(delivered) delivered, \(mode.hooksDropped ?? 0) dropped, \(mode.hooksFailed ?? 0) failed"
                )
            }
            if let note = mode.note { lines.append("  note: \(note)") }
        }
        lines.append("")
        lines.append("Targets (reported, not asserted):")
        if let polling = modes.first(where: { $0.name == "polling" }), polling.available, let bound = polling.bound {
            // Issue 25: the median within 1.3 times the quota's bound, p95 within 1.3 cycles.
            let median = bound.medianRatio.map { $0 <= 1.3 } ?? false
            let p95 = bound.p95ToCycle.map { $0 <= 1.3 } ?? false
            lines.append(
                "  polling median ≤ 1.3× the bound: \(median ? "met" : "not met") (\(Self.ratio(bound.medianRatio)))")
            lines.append(
                "  polling p95 ≤ 1.3× the cycle: \(p95 ? "met" : "not met") (\(Self.ratio(bound.p95ToCycle)))")
        }
        if let hooks = modes.first(where: { $0.name == "hooks" }), hooks.available {
            let p95 = hooks.p95Seconds.map { $0 <= 15 * 60 } ?? false
            lines.append(
                "  p95 ≤ 15 min with hooks (20 % dropped): \(p95 ? "met" : "not met") (\(Self.minutes(hooks.p95Seconds)))"
            )
        }
        if let hooks = modes.first(where: { $0.name == "hooks" }), hooks.available {
            let median = hooks.medianSeconds.map { $0 < 120 } ?? false
            lines.append(
                "  median < 2 min with hooks: \(median ? "met" : "not met") (\(Self.minutes(hooks.medianSeconds)))")
            lines.append(
                "  0 missing after reconciliation: \(hooks.missing == 0 ? "met" : "not met") (\(hooks.missing))")
        } else {
            lines.append("  median < 2 min with hooks: hooks engine not available")
            lines.append("  0 missing after reconciliation: hooks engine not available")
        }
        let errors = modes.filter(\.available).map(\.rateLimitErrors).reduce(0, +)
        lines.append("  zero 420s: \(errors == 0 ? "met" : "not met") (\(errors))")
        return lines.joined(separator: "\n")
    }
}
