import Foundation

/// What `podio-mirror check` found: one line per check, each with a fix when it failed, the
/// Podio calls announced and spent, and (with `--podio-quirks`) the table of Podio's readings.
public struct CheckReport: Sendable, Codable {
    /// How one check came out.
    public enum Status: String, Sendable, Codable {
        /// Fine.
        case ok
        /// Fine for now, with something to do next (a database not migrated yet) or to know.
        case note
        /// Works, but something deserves attention (not counted in the exit code).
        case warning
        /// Broken: the line carries a fix, and the exit code reflects it.
        case fail
        /// Not checked, because an earlier check failed or it needs what is not there.
        case skipped
    }

    /// One check.
    public struct Line: Sendable, Codable, Equatable {
        /// A short fixed name: `configuration`, `database`, `database privileges`, `schema`,
        /// `plan`, `credentials`, `tier`, `quota`, `estimate`, `hook url`, `quirks`.
        public var check: String
        public var status: Status
        public var message: String
        /// What to do about it (failures and notes).
        public var fix: String?
        /// For a failure: the exit code it stands for (64, 69, 75 or 77).
        public var exitCode: Int32?

        public init(check: String, status: Status, message: String, fix: String? = nil, exitCode: Int32? = nil) {
            self.check = check
            self.status = status
            self.message = message
            self.fix = fix
            self.exitCode = exitCode
        }

        /// The line as printed: `ok    credentials: …`, the fix after ` — fix: `.
        public var text: String {
            let label = status.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0)
            var text = "\(label)\(check): \(message)"
            if let fix { text += status == .fail ? " — fix: \(fix)" : " — next: \(fix)" }
            return text
        }
    }

    /// One endpoint's tier, from the `X-Rate-Limit-Limit` of one answer.
    public struct Tier: Sendable, Codable, Equatable {
        public var endpoint: String
        /// nil when the answer carried no header (or no answer came).
        public var limit: Int?
        public var remaining: Int?
        /// `rate_limited` or `general` as the configured quota reads the limit; nil when unknown.
        public var tier: String?
        /// The tier the mirror assumes until it learns otherwise.
        public var assumed: String
    }

    /// One row of the `--podio-quirks` table.
    public struct Quirk: Sendable, Codable, Equatable {
        public var question: String
        public var answer: String
        /// How it was measured (calls, counts), for a bug report.
        public var evidence: String
    }

    public var lines: [Line] = []
    public var tiers: [Tier] = []
    public var quirks: [Quirk]?
    /// Podio API calls the check said it would spend at most (token grants not included).
    public var callsAnnounced = 0
    /// Podio API calls it made (token grants not included).
    public var callsSpent = 0
    /// Token grants it asked for (at most one per configured identity).
    public var tokenGrants = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case lines, tiers, quirks, callsAnnounced, callsSpent, tokenGrants, exitCode
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        lines = try container.decode([Line].self, forKey: .lines)
        tiers = try container.decode([Tier].self, forKey: .tiers)
        quirks = try container.decodeIfPresent([Quirk].self, forKey: .quirks)
        callsAnnounced = try container.decode(Int.self, forKey: .callsAnnounced)
        callsSpent = try container.decode(Int.self, forKey: .callsSpent)
        tokenGrants = try container.decode(Int.self, forKey: .tokenGrants)
    }

    /// Every stored member, and the exit code the report stands for.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lines, forKey: .lines)
        try container.encode(tiers, forKey: .tiers)
        try container.encodeIfPresent(quirks, forKey: .quirks)
        try container.encode(callsAnnounced, forKey: .callsAnnounced)
        try container.encode(callsSpent, forKey: .callsSpent)
        try container.encode(tokenGrants, forKey: .tokenGrants)
        try container.encode(exitCode, forKey: .exitCode)
    }

    /// 0 when nothing failed; else the code of the worst failure: credentials (77) first, then
    /// configuration (64), then an unavailable service (69), then a quota with no room (75).
    public var exitCode: Int32 {
        let codes = Set(lines.filter { $0.status == .fail }.map { $0.exitCode ?? 1 })
        for code: Int32 in [77, 64, 69, 75] where codes.contains(code) { return code }
        return codes.min() ?? 0
    }

    /// The quirks as a Markdown table, to paste into a bug report.
    public var quirkTable: [String] {
        guard let quirks else { return [] }
        var out = ["| question | answer | evidence |", "| --- | --- | --- |"]
        for q in quirks {
            let cells = [q.question, q.answer, q.evidence].map { $0.replacingOccurrences(of: "|", with: "\\|") }
            out.append("| " + cells.joined(separator: " | ") + " |")
        }
        return out
    }
}
